import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { request } from "undici";
import { BranchServices } from "../support/branch-services";
import { CoordinatorProcess } from "../support/coordinator-process";
import { newSchemaName } from "../support/coordinator";

// A saga whose second branch hangs; the coordinator process is killed mid-pass; a new process on the
// same database finds the acknowledged saga and completes it.
const url = process.env.DTX_TEST_DATABASE_URL ?? "";
const schema = newSchemaName();
const dataDir = mkdtempSync(join(tmpdir(), "dtx-restart-"));
const storeEnv: Record<string, string> = {
  ...(url
    ? { DTX_STORE_URL: url, DTX_STORE_SCHEMA: schema }
    : { DTX_STORE_URL: "", DTX_STORE_DATA_DIR: dataDir }),
  // a short lease, so the next process finds the saga due soon after the crash
  DTX_RECOVERY_LEASE: "2s",
};
const procs: CoordinatorProcess[] = [];
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
});
afterAll(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  await rm?.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (url) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.end();
  }
});

async function query(base: string, gid: string): Promise<any> {
  const res = await request(`${base}/api/dtmsvr/query?gid=${gid}`);
  return res.body.json();
}

test("a saga survives a killed coordinator and completes on the next one", async () => {
  const first = await CoordinatorProcess.start({
    ...storeEnv,
    DTX_BRANCH_REQUEST_TIMEOUT: "20s",
  });
  procs.push(first);
  rm.script("TransIn", "HANG");
  const gid = `restart-${Date.now()}`;
  const res = await request(`${first.base}/api/dtmsvr/submit`, {
    method: "POST",
    body: JSON.stringify({
      gid,
      trans_type: "saga",
      steps: [
        { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
        { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
      ],
      payloads: ['{"amount":30}', '{"amount":30}'],
    }),
  });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
  await rm.waitForCalls(2); // TransOut answered, TransIn is hanging
  await first.kill();
  expect((await rm.callsTo("TransIn")).length).toBe(1);

  rm.clearCalls();
  const second = await CoordinatorProcess.start({
    ...storeEnv,
    DTX_RECOVERY_POLL_INTERVAL: "100ms",
  });
  procs.push(second);
  // the saga is due when the first process's lease runs out
  let status = "";
  for (let i = 0; i < 300 && status !== "succeed"; i++) {
    await new Promise((r) => setTimeout(r, 100));
    status = (await query(second.base, gid)).transaction?.status;
  }
  expect(status).toBe("succeed");
  const { branches } = await query(second.base, gid);
  expect(branches.map((b: any) => b.status)).toEqual(["prepared", "succeed", "prepared", "succeed"]);
  // the pass restarted from the last written state: both actions again, in order
  expect(rm.calls().map((c) => [c.path, c.op, c.gid])).toEqual([
    ["/api/busi/TransOut", "action", gid],
    ["/api/busi/TransIn", "action", gid],
  ]);
  expect(await second.stop()).toBe(0);
}, 60_000);
