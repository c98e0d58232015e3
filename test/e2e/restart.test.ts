import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { request } from "undici";
import { BranchServices } from "../support/branch-services";
import { CoordinatorProcess } from "../support/coordinator-process";
import { transferBody } from "./saga-helpers";
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

async function submitTransfer(base: string, gid: string): Promise<void> {
  const res = await request(`${base}/api/dtmsvr/submit`, {
    method: "POST",
    body: JSON.stringify(transferBody(rm, gid)),
  });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
}

/** Polls until the saga reaches `status` (or 30 s pass); resolves with the last seen status. */
async function waitForStatus(base: string, gid: string, status: string): Promise<string> {
  let seen = "";
  for (let i = 0; i < 300 && seen !== status; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = (await query(base, gid)).transaction?.status;
  }
  return seen;
}

/** A coordinator whose passes give up quickly, so its lease (two pass budgets) is short. */
function startCoordinator(): Promise<CoordinatorProcess> {
  return CoordinatorProcess.start({
    ...storeEnv,
    // long enough that the kill always lands while the branch call hangs, even on a busy machine
    DTX_BRANCH_REQUEST_TIMEOUT: "1500ms",
    DTX_RECOVERY_POLL_INTERVAL: "100ms",
  }).then((p) => {
    procs.push(p);
    return p;
  });
}

test("a saga survives a killed coordinator and completes on the next one", async () => {
  const first = await startCoordinator();
  rm.script("TransIn", "HANG");
  const gid = `restart-${Date.now()}`;
  await submitTransfer(first.base, gid);
  await rm.waitForCalls(2); // TransOut answered, TransIn is hanging
  await first.kill();
  expect(rm.callsTo("TransIn")).toHaveLength(1);

  rm.clearCalls();
  const second = await startCoordinator();
  // due when the first process's lease runs out: the longer of recovery.lease (2 s here) and two
  // pass budgets (2 × (1.5 s + 2 s) + 1 s = 8 s)
  expect(await waitForStatus(second.base, gid, "succeed")).toBe("succeed");
  const { branches } = await query(second.base, gid);
  expect(branches.map((b: any) => b.status)).toEqual(["prepared", "succeed", "prepared", "succeed"]);
  // the pass restarted from the last written state: both actions again, in order
  expect(rm.calls().map((c) => [c.path, c.op, c.gid])).toEqual([
    ["/api/busi/TransOut", "action", gid],
    ["/api/busi/TransIn", "action", gid],
  ]);
  expect(await second.stop()).toBe(0);
}, 180_000);

test("a saga killed while compensating goes on compensating and never runs an action again", async () => {
  const first = await startCoordinator();
  rm.clearCalls();
  rm.script("TransIn", "FAIL");
  rm.script("TransOutRevert", "HANG");
  const gid = `restart-comp-${Date.now()}`;
  await submitTransfer(first.base, gid);
  await rm.waitForCalls(4); // TransOut, TransIn (FAILURE), TransInRevert, TransOutRevert hanging
  await first.kill();
  expect(rm.calls().map((c) => c.path.split("/").pop())).toEqual([
    "TransOut",
    "TransIn",
    "TransInRevert",
    "TransOutRevert",
  ]);

  rm.clearCalls();
  const second = await startCoordinator();
  expect(await waitForStatus(second.base, gid, "failed")).toBe("failed");
  const { transaction, branches } = await query(second.base, gid);
  expect(transaction.rollback_reason).toContain("Insufficient balance");
  expect(branches.map((b: any) => b.status)).toEqual(["succeed", "succeed", "succeed", "failed"]);
  // `aborting` was written before the first compensation: the new process only compensates
  expect(rm.calls().map((c) => [c.path.split("/").pop(), c.op])).toEqual([
    ["TransInRevert", "compensate"],
    ["TransOutRevert", "compensate"],
  ]);
  expect(await second.stop()).toBe(0);
}, 180_000);
