/**
 * How the real process (src/server/main.ts) ends on signals: a graceful stop still exits when its log
 * reader has gone away (stdout a closed pipe), and a second signal cuts a graceful stop short.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { request } from "undici";
import { BranchServices } from "../support/branch-services";
import { CoordinatorProcess } from "../support/coordinator-process";
import { newSchemaName } from "../support/coordinator";

const ROOT = join(__dirname, "..", "..");
const url = process.env.DTX_TEST_DATABASE_URL ?? "";
const schemas: string[] = [];
const dirs: string[] = [];
const procs: CoordinatorProcess[] = [];
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
});
afterAll(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  await rm?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (url) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    for (const s of schemas) await c.query(`drop schema if exists "${s}" cascade`);
    await c.end();
  }
});

/** A store of its own: a fresh schema, or a fresh PGlite directory. */
function storeEnv(): Record<string, string> {
  if (url) {
    const schema = newSchemaName();
    schemas.push(schema);
    return { DTX_STORE_URL: url, DTX_STORE_SCHEMA: schema };
  }
  const dir = mkdtempSync(join(tmpdir(), "dtx-stop-"));
  dirs.push(dir);
  return { DTX_STORE_URL: "", DTX_STORE_DATA_DIR: dir };
}

async function startCoordinator(env: Record<string, string> = {}): Promise<CoordinatorProcess> {
  const p = await CoordinatorProcess.start({ ...storeEnv(), ...env });
  procs.push(p);
  return p;
}

/** Submits a 1-step saga with wait_result; the request stays open while the step hangs. */
function submitHanging(base: string, gid: string): Promise<unknown> {
  return request(`${base}/api/dtmsvr/submit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      gid,
      trans_type: "saga",
      wait_result: true,
      steps: [{ action: `${rm.httpBase}/TransOut`, compensate: `${rm.httpBase}/TransOutRevert` }],
      payloads: ["{}"],
    }),
  }).then(
    (r) => r.body.text(),
    () => undefined,
  );
}

test("SIGTERM stops the coordinator when its stdout reader has gone (a closed pipe)", async () => {
  // as in `dtx | head -n 2`: the log reader takes two lines ("store ready", "dtx started") and exits, so
  // every later line — "stopping" first — meets a closed pipe. `exec` keeps the coordinator's pid.
  const main = `${process.execPath} -r ${ROOT}/test/support/ts-require.js ${ROOT}/src/server/main.ts`;
  const child = spawn("bash", ["-c", `exec ${main} > >(head -n 2)`], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: "", DTX_LOG_LEVEL: "info", DTX_SERVER_PORTS: "0", ...storeEnv() },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let read = "";
  child.stdout.on("data", (d: Buffer) => (read += d.toString()));
  // the reader's output ends when it exits
  await new Promise((resolve) => child.stdout.once("end", resolve));
  expect(read).toContain('"message":"dtx started"');
  child.kill("SIGTERM");
  const bound = setTimeout(() => child.kill("SIGKILL"), 45_000); // a hang fails the test, never outlives it
  expect(await exited).toBe(0);
  clearTimeout(bound);
}, 60_000);

test("a second SIGTERM ends a graceful stop at once, with exit code 1", async () => {
  // a graceful stop would wait up to 10 minutes for the hanging branch call
  const dtx = await startCoordinator({
    DTX_SERVER_SHUTDOWN_TIMEOUT: "10m",
    DTX_BRANCH_REQUEST_TIMEOUT: "10m",
  });
  rm.script("TransOut", "HANG");
  const callsBefore = rm.calls().length;
  const pending = submitHanging(dtx.base, "second-signal-1");
  await rm.waitForCalls(callsBefore + 1);
  dtx.child.kill("SIGTERM");
  // the second signal only once the first one's stop has begun
  while (!dtx.logs.some((l) => l.message === "stopping")) await new Promise((r) => setTimeout(r, 50));
  expect(await dtx.stop()).toBe(1);
  expect(dtx.logs.map((l) => l.message)).toEqual(
    expect.arrayContaining(["stopping", "stopping at once: in-flight requests and passes are cut"]),
  );
  await pending;
}, 60_000);
