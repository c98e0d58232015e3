/**
 * `dtx doctor` and `dtx migrate` on this machine's configuration: a fresh store has pending migrations
 * (doctor and `migrate --check` fail), `dtx migrate` applies them, then everything is current; an
 * unreachable store and a port held by another program are failures too.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { newSchemaName } from "../support/coordinator";
import { runCli } from "../support/run-cli";

const PG_URL = process.env.DTX_TEST_DATABASE_URL;
let dir: string;
let busy: Server;
let env: Record<string, string>;
const schema = newSchemaName();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "dtx-doctor-"));
  env = PG_URL
    ? { DTX_STORE_URL: PG_URL, DTX_STORE_SCHEMA: schema, DTX_SERVER_PORTS: "0" }
    : { DTX_STORE_URL: "", DTX_STORE_DATA_DIR: join(dir, "pglite"), DTX_SERVER_PORTS: "0" };
  busy = createServer((socket) => socket.destroy()); // answers nothing, holds no connection
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  await new Promise((resolve) => busy.close(resolve));
  rmSync(dir, { recursive: true, force: true });
  if (PG_URL) {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  }
});

type Check = { check: string; status: string; detail: string };

test("a fresh store: migrations pending until dtx migrate; then doctor is happy", async () => {
  const check = await runCli(["migrate", "--check"], env);
  expect(check.code).toBe(1);
  expect(check.stdout).toMatch(/^\d+ migrations pending: 1 \S+/);
  expect(check.stderr).toBe("dtx: migrations pending: run dtx migrate\n");

  const before = await runCli(["doctor", "--json"], env);
  expect(before.code).toBe(1);
  const failed = (JSON.parse(before.stdout).checks as Check[]).filter((c) => c.status === "fail");
  expect(failed.map((c) => c.check)).toEqual(["migrations"]);
  expect(failed[0]!.detail).toMatch(/pending .*: run dtx migrate$/);

  const applied = await runCli(["migrate"], env);
  expect(applied.code).toBe(0);
  expect(applied.stdout).toMatch(/^applied 1 \S+/);
  expect(await runCli(["migrate", "--check"], env)).toEqual({
    code: 0,
    stdout: "migrations: current\n",
    stderr: "",
  });

  const after = await runCli(["doctor"], env);
  expect(after.code).toBe(0);
  const rows = after.stdout.trimEnd().split("\n");
  expect(rows[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
  expect(rows.slice(1).map((r) => r.split(/\s{2,}/)[0])).toEqual([
    "configuration",
    "store",
    "migrations",
    "max_prepared_transactions",
    "clock offset",
    "port 0",
  ]);
  expect(rows.find((r) => r.startsWith("migrations"))).toMatch(/\sok\s+current$/);
  expect(rows.find((r) => r.startsWith("clock offset"))).toMatch(/ ms \(database minus this machine\)$/);
}, 240_000);

test("a broken setup: an unreachable store, a port another program holds, a bad configuration", async () => {
  const port = (busy.address() as { port: number }).port;
  const [unreachable, badConfig] = await Promise.all([
    runCli(["doctor", "--json"], {
      DTX_STORE_URL: "postgres://dtx@127.0.0.1:9/dtx",
      DTX_SERVER_PORTS: String(port),
    }),
    runCli(["doctor"], { DTX_RETRY_INTERVAL: "10" }),
  ]);
  expect(unreachable.code).toBe(1);
  const checks = JSON.parse(unreachable.stdout).checks as Check[];
  expect(checks.map((c) => [c.check, c.status])).toEqual([
    ["configuration", "ok"],
    ["store", "fail"],
    [`port ${port}`, "fail"],
  ]);
  expect(checks[1]!.detail).toBe(
    "store.url postgres://dtx@127.0.0.1:9/dtx: cannot connect (connect ECONNREFUSED 127.0.0.1:9)",
  );
  expect(checks[2]!.detail).toBe("in use by another program (server.ports)");
  expect(badConfig.code).toBe(1);
  expect(badConfig.stdout).toMatch(/^CHECK\s+STATUS\s+DETAIL\nconfiguration\s+fail\s+config retry\.interval/);
}, 240_000);
