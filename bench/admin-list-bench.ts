/**
 * `npm run bench:admin`: how fast the admin list answers with 100,000 finished transactions in the store.
 * Seeds the store of a real coordinator (App.start, loopback, recovery off) with finished sagas of two
 * branches each in bulk, then times the admin REST list's first page over loopback — unfiltered (the
 * page's and the API's default page sizes), by status, by gid prefix — and prints a Markdown table.
 *
 * DTX_BENCH_DATABASE_URL: Postgres to run on (a schema `bench_list_<hex>`, dropped at the end); unset:
 * PGlite in a temporary directory. BENCH_LIST_ROWS (default 100000), BENCH_LIST_REQUESTS (default 200).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { request } from "undici";
import { App } from "../src/server/app";
import { defaultConfig } from "../src/server/config";
import { createLogger } from "../src/server/logger";

const ROWS = Number(process.env.BENCH_LIST_ROWS ?? 100_000);
const REQUESTS = Number(process.env.BENCH_LIST_REQUESTS ?? 200);
const url = process.env.DTX_BENCH_DATABASE_URL ?? "";

async function main(): Promise<void> {
  const schema = `bench_list_${randomBytes(4).toString("hex")}`;
  const dir = url ? "" : mkdtempSync(join(tmpdir(), "dtx-bench-list-"));
  const config = defaultConfig();
  Object.assign(config.server, { host: "127.0.0.1", ports: [0] });
  Object.assign(config.store, url ? { url, schema } : { url: "", dataDir: join(dir, "pglite") });
  config.recovery.enabled = false;
  const app = await App.start(config, { logger: createLogger("warn"), adminPageDir: dir || tmpdir() });
  try {
    const seeded = performance.now();
    await seed(app);
    process.stderr.write(`seeded ${ROWS} transactions in ${Math.round(performance.now() - seeded)} ms\n`);
    const base = `http://127.0.0.1:${app.ports[0]}/v1/admin/transactions`;
    const cases: [string, string][] = [
      ["first page, 20 rows (the admin page)", "?pageSize=20"],
      ["first page, 100 rows (the API's default)", ""],
      ["status = failed, 20 rows", "?pageSize=20&statuses=TRANSACTION_STATUS_FAILED"],
      ["gid prefix, 20 rows", "?pageSize=20&gidPrefix=bench-0009"],
      ["unfinished (none among them), 20 rows", "?pageSize=20&statuses=TRANSACTION_STATUS_SUBMITTED"],
    ];
    const rows: string[] = [];
    for (const [name, query] of cases) {
      const times = await timeRequests(base + query);
      rows.push(`| ${name} | ${ms(pct(times, 0.5))} | ${ms(pct(times, 0.95))} | ${ms(pct(times, 0.99))} |`);
    }
    const store = url ? "Postgres" : "PGlite";
    process.stdout.write(
      `\nAdmin list with ${ROWS.toLocaleString("en")} finished transactions (${store}), ` +
        `${REQUESTS} sequential requests each over loopback, after 20 warm-up requests:\n\n` +
        "| request | p50 ms | p95 ms | p99 ms |\n| --- | --- | --- | --- |\n" +
        rows.join("\n") +
        "\n",
    );
  } finally {
    await app.close();
    if (url) await dropSchema(schema);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** Finished sagas of two branches each, a second apart, inserted in bulk. */
async function seed(app: App): Promise<void> {
  const db = app.store.db;
  await db.query(
    `insert into trans_global (gid, trans_type, status, create_time, update_time, finish_time)
     select 'bench-' || lpad(i::text, 7, '0'), 'saga', case when i % 10 = 0 then 'failed' else 'succeed' end,
       now() - (($1 - i) || ' seconds')::interval, now(), now()
     from generate_series(1, $1) i`,
    [ROWS],
  );
  await db.query(
    `insert into trans_branch_op (gid, branch_id, op, url, status, create_time, update_time, attempts,
       last_outcome, last_code, last_answer, last_call_time)
     select 'bench-' || lpad(i::text, 7, '0'), b, 'action', 'http://bank:8081/api/bank/x', 'succeed', now(), now(), 1,
       case when i % 10 = 0 and b = '02' then 'FAILURE' else 'SUCCESS' end, '200', '{}', now()
     from generate_series(1, $1) i, (values ('01'), ('02')) v(b)`,
    [ROWS],
  );
  await db.query("analyze");
}

async function timeRequests(target: string): Promise<number[]> {
  const once = async (): Promise<number> => {
    const started = performance.now();
    const res = await request(target);
    await res.body.arrayBuffer();
    if (res.statusCode !== 200) throw new Error(`${target} answered ${res.statusCode}`);
    return performance.now() - started;
  };
  for (let i = 0; i < 20; i++) await once();
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) times.push(await once());
  return times.sort((a, b) => a - b);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function ms(n: number): string {
  return n.toFixed(1);
}

async function dropSchema(schema: string): Promise<void> {
  const pg = await import("pg");
  const client = new pg.default.Client({ connectionString: url });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
