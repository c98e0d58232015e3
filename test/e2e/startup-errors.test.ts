/**
 * The real entry point refuses to start with one line on stderr naming what is wrong — the port, the
 * store URL, the variable, the locked directory and its holder — and no stack trace.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { CoordinatorProcess, runToExit } from "../support/coordinator-process";

let dir: string;
const procs: CoordinatorProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dtx-startup-"));
});
afterAll(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function start(env: Record<string, string>): Promise<CoordinatorProcess> {
  const p = await CoordinatorProcess.start({ DTX_STORE_URL: "", ...env });
  procs.push(p);
  return p;
}

async function ping(p: CoordinatorProcess): Promise<number> {
  const res = await request(`${p.base}/api/ping`);
  await res.body.dump();
  return res.statusCode;
}

describe("beside a running coordinator", () => {
  let dataDir: string;
  let first: CoordinatorProcess;
  beforeAll(async () => {
    dataDir = join(dir, "shared");
    first = await start({ DTX_STORE_DATA_DIR: dataDir });
  }, 180_000);

  test("a second process on the same embedded store stops at start, naming the directory and the holder", async () => {
    const second = await runToExit({ DTX_STORE_URL: "", DTX_STORE_DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(
      new RegExp(
        `^dtx: store\\.dataDir ${dataDir} is in use by process ${first.child.pid} on \\S+ since \\S+ ` +
          `\\(lock file ${join(dataDir, "dtx.lock")}\\); stop that process or choose another directory\\n$`,
      ),
    );
    expect(await ping(first)).toBe(200);
  }, 180_000);

  test("a port in use stops the start before the store is opened", async () => {
    const other = join(dir, "other");
    const second = await runToExit({
      DTX_STORE_URL: "",
      DTX_STORE_DATA_DIR: other,
      DTX_SERVER_PORTS: `${first.port}`,
    });
    expect(second).toEqual({
      code: 1,
      stderr:
        `dtx: server.ports: port ${first.port} is in use (127.0.0.1:${first.port}): ` +
        "another dtx or another program listens there\n",
    });
    expect(existsSync(other)).toBe(false);
  }, 180_000);

  test("the stale lock of a killed process is taken over by the next start", async () => {
    await first.kill();
    expect(existsSync(join(dataDir, "dtx.lock"))).toBe(true);
    const next = await start({ DTX_STORE_DATA_DIR: dataDir });
    expect(await ping(next)).toBe(200);
    expect(await next.stop()).toBe(0);
    expect(existsSync(join(dataDir, "dtx.lock"))).toBe(false);
  }, 180_000);
});

test.each([
  [
    "an unsupported store URL",
    { DTX_STORE_URL: "mysql://root:secret@db:3306/dtm" },
    2,
    'dtx: config store.url (env DTX_STORE_URL): "mysql://root:***@db:3306/dtm" is not supported: dtx stores ' +
      "in Postgres (postgres://…), or in the embedded PGlite when store.url is empty\n",
  ],
  [
    "an unknown DTX_ variable",
    { DTX_RETRY_INTERVALL: "5s" },
    2,
    "dtx: config env DTX_RETRY_INTERVALL: unknown variable (no configuration key is called that); " +
      "did you mean DTX_RETRY_INTERVAL?\n",
  ],
  [
    "an unreachable Postgres",
    { DTX_STORE_URL: "postgres://dtx:secret@127.0.0.1:9/dtx" },
    1,
    "dtx: store.url postgres://dtx:***@127.0.0.1:9/dtx: cannot connect (connect ECONNREFUSED 127.0.0.1:9)\n",
  ],
])(
  "%s: one line naming it, no stack trace",
  async (_name, env, code, stderr) => {
    expect(await runToExit(env)).toEqual({ code, stderr });
  },
  180_000,
);
