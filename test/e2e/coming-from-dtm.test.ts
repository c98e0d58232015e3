/**
 * Coming from dtm: `dtx -c conf.yml` reads dtm's configuration file, `--dtm-env` dtm's environment
 * names, and `GET /api/health` answers as the tutorials' health checks expect.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { request } from "undici";
import { CoordinatorProcess, runToExit } from "../support/coordinator-process";
import { newSchemaName } from "../support/coordinator";

const PG_URL = process.env.DTX_TEST_DATABASE_URL;
let dir: string;
const procs: CoordinatorProcess[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dtx-from-dtm-"));
});
afterAll(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const res = await request(url);
  return { status: res.statusCode, body: await res.body.json() };
}

/** dtm's sample file: the postgres store of the tests' database when there is one, else none (PGlite). */
function dtmSample(schema: string): string {
  const lines = [
    "# the unit of following configurations is second",
    "RetryInterval: 15",
    "TimeoutToFail: 35",
  ];
  lines.push("UpdateBranchAsyncGoroutineNum: 1", "LogLevel: 'info'");
  if (PG_URL) {
    const u = new URL(PG_URL);
    lines.unshift(
      "Store:",
      "  Driver: 'postgres'",
      `  Host: '${u.hostname}'`,
      `  User: '${decodeURIComponent(u.username)}'`,
      `  Password: '${decodeURIComponent(u.password)}'`,
      `  Port: '${u.port || "5432"}'`,
      `  Db: '${u.pathname.slice(1)}'`,
      `  Schema: '${schema}'`,
      "  MaxIdleConns: 500",
    );
  }
  const file = join(dir, `conf-${schema}.yml`);
  writeFileSync(file, lines.join("\n") + "\n");
  return file;
}

test("dtm's sample configuration starts dtx with the mapped store, listing the keys it ignores", async () => {
  const schema = newSchemaName();
  const p = await CoordinatorProcess.start({ DTX_STORE_DATA_DIR: "memory://" }, ["-c", dtmSample(schema)]);
  procs.push(p);
  try {
    const started = p.logs.find((l) => l.message === "dtx started");
    expect(started?.store).toBe(PG_URL ? "postgres" : "pglite");
    const ignored = PG_URL
      ? "Store.MaxIdleConns, UpdateBranchAsyncGoroutineNum"
      : "UpdateBranchAsyncGoroutineNum";
    expect(p.logs.filter((l) => l.level === "warn").map((l) => l.message)).toEqual([
      `dtm configuration keys dtx does not use (ignored): ${ignored}`,
    ]);
    expect(await getJson(`${p.base}/api/health`)).toEqual({ status: 200, body: { result: "success" } });
    expect(await getJson(`${p.base}/api/ping`)).toEqual({ status: 200, body: { msg: "pong" } });
    expect(await p.stop()).toBe(0);
  } finally {
    if (PG_URL) {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
    }
  }
}, 180_000);

test("a dtm file with the mysql driver is refused in one line", async () => {
  const file = join(dir, "mysql.yml");
  writeFileSync(file, "Store:\n  Driver: 'mysql'\n  Host: 'localhost'\n  User: 'root'\n  Port: 3306\n");
  expect(await runToExit({}, ["-c", file])).toEqual({
    code: 2,
    stderr:
      `dtx: config dtm file ${file}: Store.Driver: "mysql" is not supported: dtx stores in Postgres ` +
      "(Driver: postgres) or in the embedded PGlite (no Store section)\n",
  });
}, 180_000);

test("dtm's environment names count only with --dtm-env", async () => {
  const env = {
    STORE_DRIVER: "redis",
    STORE_HOST: "localhost",
    STORE_PORT: "6379",
    DTX_STORE_DATA_DIR: "memory://",
  };
  expect(await runToExit(env, ["--dtm-env"])).toEqual({
    code: 2,
    stderr:
      'dtx: config dtm env STORE_DRIVER: "redis" is not supported: dtx stores in Postgres ' +
      "(Driver: postgres) or in the embedded PGlite (no Store section)\n",
  });
  const p = await CoordinatorProcess.start(env);
  procs.push(p);
  expect(await getJson(`${p.base}/api/health`)).toEqual({ status: 200, body: { result: "success" } });
  expect(await p.stop()).toBe(0);
}, 180_000);
