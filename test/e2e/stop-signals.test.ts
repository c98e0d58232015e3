/**
 * How the real process (src/server/main.ts) ends on signals: a graceful stop still exits when its log
 * reader has gone away (stdout a closed pipe) or stopped reading (a full pipe), a signal during the
 * start stops it once started, and a second signal cuts a graceful stop short.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
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

/** A coordinator started as `bash -c 'exec node main.ts <redirect>'`, which keeps its pid. */
interface Spawned {
  child: ChildProcessByStdio<null, Readable, Readable>;
  exited: Promise<number | null>;
  /** What it wrote on stdout (what reached the test), and on stderr. */
  out: { stdout: string; stderr: string };
  /** Where its diagnostic report goes on SIGUSR2. */
  reports: string;
}

function spawnCoordinator(redirect: string, env: Record<string, string> = {}): Spawned {
  const reports = mkdtempSync(join(tmpdir(), "dtx-stop-report-"));
  dirs.push(reports);
  const node = `${process.execPath} --report-on-signal --report-signal=SIGUSR2 --report-directory=${reports}`;
  const main = `${node} -r ${ROOT}/test/support/ts-require.js ${ROOT}/src/server/main.ts`;
  const child = spawn("bash", ["-c", `exec ${main} ${redirect}`], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_OPTIONS: "",
      DTX_LOG_LEVEL: "info",
      DTX_SERVER_PORTS: "0",
      ...storeEnv(),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const out = { stdout: "", stderr: "" };
  child.stdout.on("data", (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out.stderr += d.toString()));
  return { child, exited, out, reports };
}

/**
 * Sends SIGTERM and expects exit code 0 within 45 s; a process still running then is described by its
 * diagnostic report (each thread's stack and open handles) in the failure, and killed.
 */
async function expectGracefulExit(c: Spawned): Promise<void> {
  c.child.kill("SIGTERM");
  let bound: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((r) => (bound = setTimeout(() => r("hung"), 45_000)));
  const code = await Promise.race([c.exited, hung]);
  clearTimeout(bound);
  if (code === "hung") {
    c.child.kill("SIGUSR2");
    await new Promise((r) => setTimeout(r, 3000));
    c.child.kill("SIGKILL");
    const files = readdirSync(c.reports);
    // no report: the process did not reach JavaScript any more (stuck in its exit, say)
    const report = files.length
      ? files.map((f) => where(readFileSync(join(c.reports, f), "utf8")))
      : ["no report: the process did not answer SIGUSR2"];
    throw new Error(
      `no exit within 45 s of SIGTERM; stderr:\n${c.out.stderr}\nwhere it waits:\n${report.join("\n")}`,
    );
  }
  expect(code).toBe(0);
}

/** Where a process waits, from its diagnostic report: each thread's JS stack and open handles. */
function where(reportJson: string): string {
  interface Thread {
    javascriptStack?: unknown;
    libuv?: { type: string; is_active: boolean; is_referenced?: boolean }[];
    workers?: Thread[];
  }
  const brief = (t: Thread): unknown => ({
    stack: t.javascriptStack,
    handles: t.libuv?.filter((h) => h.is_active).map((h) => `${h.type}${h.is_referenced ? "" : " (unref)"}`),
    workers: t.workers?.map(brief),
  });
  return JSON.stringify(brief(JSON.parse(reportJson) as Thread), null, 1);
}

test("SIGTERM stops the coordinator when its stdout reader has gone (a closed pipe)", async () => {
  // as in `dtx | head -n 2`: the log reader takes two lines ("store ready", "dtx started") and exits, so
  // every later line — "stopping" first — meets a closed pipe
  const c = spawnCoordinator("> >(head -n 2)");
  // the reader's output ends when it exits
  await new Promise((resolve) => c.child.stdout.once("end", resolve));
  expect(c.out.stdout).toContain('"message":"dtx started"');
  await expectGracefulExit(c);
}, 60_000);

test("SIGTERM stops the coordinator when its stdout reader has stopped reading (a full pipe)", async () => {
  // a log shipper that hangs: the test reads up to "dtx started", then no more, while the coordinator
  // logs far more than a pipe holds (each saga's branch refuses the connection: a warn line)
  const c = spawnCoordinator("", { DTX_SERVER_SHUTDOWN_TIMEOUT: "1s" });
  while (!c.out.stdout.includes('"message":"dtx started"')) await new Promise((r) => setTimeout(r, 20));
  const startedLine = c.out.stdout.split("\n").find((l) => l.includes('"message":"dtx started"'))!;
  const port = (JSON.parse(startedLine) as { ports: number[] }).ports[0]!;
  c.child.stdout.pause();
  const refused = `http://127.0.0.1:1`;
  for (let i = 0; i < 300; i++) {
    const res = await request(`http://127.0.0.1:${port}/api/dtmsvr/submit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        gid: `full-pipe-${i}`,
        trans_type: "saga",
        steps: [{ action: `${refused}/TransOut`, compensate: `${refused}/TransOutRevert` }],
        payloads: [JSON.stringify({ pad: "x".repeat(200) })],
      }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.text();
  }
  await expectGracefulExit(c);
  c.child.stdout.resume();
}, 90_000);

test('a SIGTERM during the start (after "store ready", before "dtx started") stops gracefully once started', async () => {
  const c = spawnCoordinator("");
  while (!c.out.stdout.includes('"message":"store ready"')) await new Promise((r) => setTimeout(r, 5));
  await expectGracefulExit(c);
  const messages = c.out.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { message: string }).message);
  expect(messages).toEqual(expect.arrayContaining(["stopping", "dtx started", "dtx stopped"]));
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
