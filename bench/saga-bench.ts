/**
 * dtx saga benchmark: starts the coordinator in this process (PGlite in memory, or Postgres when
 * DTX_BENCH_DATABASE_URL is set), a branch service answering SUCCESS to everything, and drives 2-step
 * sagas through dtm's HTTP API from a closed loop of keep-alive clients. Prints a Markdown table and
 * writes it to bench/last-run.md. See bench/README.md for the knobs and what each workload measures.
 *
 * Everything is on 127.0.0.1, every loop ends by itself after its duration, and everything it started
 * (servers, pools, the bench schema) is closed or dropped at the end.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import type { Pool as PgPool, QueryResultRow } from "pg";
import { Pool } from "undici";
import { App } from "../src/server/app";
import { loadConfig } from "../src/server/config";
import { createLogger } from "../src/server/logger";
import type { Store } from "../src/store/store";
import { startBranchService, type BranchService } from "./branch-service";
import { closedLoop, latencySummary, sleep } from "./load";
import { delta, PgCounters, type DbSnapshot } from "./pg-counters";
import { codeVersion, prettify, renderMarkdown, type Row } from "./report";

/** The bench's knobs, from the environment. */
interface Settings {
  databaseUrl: string;
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  drainSeconds: number;
  workloads: WorkloadKey[];
  out: string;
}

type WorkloadKey = "a" | "b" | "c";

interface Workload {
  key: WorkloadKey;
  /** The table's label. */
  label: string;
  waitResult: boolean;
  emptyUrls: boolean;
}

const WORKLOADS: Workload[] = [
  { key: "a", label: "a: 2-step saga, wait_result", waitResult: true, emptyUrls: false },
  { key: "b", label: "b: 2-step saga, async + drain", waitResult: false, emptyUrls: false },
  { key: "c", label: "c: empty URLs, wait_result", waitResult: true, emptyUrls: true },
];

/** The body of each saga step (dtm's bench transfers an amount). */
const PAYLOAD = JSON.stringify({ amount: 30 });

/** Client-side limit on one submit; far above any healthy latency, it only keeps a stuck run bounded. */
const REQUEST_TIMEOUT_MS = 60_000;

function readSettings(env: NodeJS.ProcessEnv): Settings {
  const num = (name: string, fallback: number, opts: { integer?: boolean; min: number }): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < opts.min || (opts.integer && !Number.isInteger(n))) {
      throw new Error(
        `${name}=${JSON.stringify(raw)}: expected a ${opts.integer ? "whole " : ""}number ≥ ${opts.min}`,
      );
    }
    return n;
  };
  const keys = (env.BENCH_WORKLOADS ?? "a,b,c")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  for (const k of keys) {
    if (!WORKLOADS.some((w) => w.key === k)) {
      throw new Error(`BENCH_WORKLOADS: unknown workload ${JSON.stringify(k)} (use a, b, c)`);
    }
  }
  return {
    databaseUrl: env.DTX_BENCH_DATABASE_URL ?? "",
    seconds: num("BENCH_SECONDS", 10, { min: 0.1 }),
    warmupSeconds: num("BENCH_WARMUP_SECONDS", 2, { min: 0 }),
    concurrency: num("BENCH_CONCURRENCY", 32, { integer: true, min: 1 }),
    drainSeconds: num("BENCH_DRAIN_SECONDS", 120, { min: 1 }),
    workloads: keys as WorkloadKey[],
    out: env.BENCH_OUT || path.resolve(__dirname, "../../bench/last-run.md"),
  };
}

/** What a workload runs against. */
interface Bench {
  settings: Settings;
  app: App;
  client: Pool;
  branch: BranchService;
  /** Postgres only. */
  counters: PgCounters | null;
  /** The schema holding the coordinator's tables. */
  schema: string;
  /** Statements the coordinator has sent to its pool so far. */
  queries: () => number;
  /** The bench's own queries (not counted): on Postgres its own connection, on PGlite the shared one. */
  query: <R extends QueryResultRow>(text: string, values?: unknown[]) => Promise<{ rows: R[] }>;
  runId: string;
  stopped: () => boolean;
}

/**
 * Counts the statements the coordinator sends through its store (every one of them is a transaction of
 * its own: the store never opens explicit ones), and runs the bench's own on the pool, uncounted.
 */
function countQueries(store: Store): {
  count: () => number;
  raw: (text: string, values?: unknown[]) => Promise<{ rows: QueryResultRow[] }>;
} {
  let n = 0;
  store.onStatement(() => n++);
  return { count: () => n, raw: (text, values) => store.db.query(text, values) };
}

/** POSTs one saga to dtm's submit route; throws unless answered 200. */
async function submit(bench: Bench, w: Workload, gid: string): Promise<void> {
  const base = `${bench.branch.base}/api/busi_bench`;
  const step = (name: string) =>
    w.emptyUrls
      ? { action: "", compensate: "" }
      : { action: `${base}/${name}`, compensate: `${base}/${name}Revert` };
  const body = JSON.stringify({
    gid,
    trans_type: "saga",
    wait_result: w.waitResult,
    steps: [step("TransOut"), step("TransIn")],
    payloads: [PAYLOAD, PAYLOAD],
  });
  const res = await bench.client.request({
    method: "POST",
    path: "/api/dtmsvr/submit",
    headers: { "content-type": "application/json" },
    body,
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
}

/** Waits until no pass runs in the coordinator (or `deadline`, a performance.now() time, passes). */
async function waitIdle(bench: Bench, deadline: number): Promise<void> {
  while (bench.app.engine.inFlight > 0 && performance.now() < deadline) await sleep(5);
}

/**
 * Makes every connection of the coordinator's pool publish its pending statistics (see
 * `PgCounters.flushStatement`), one at a time so the flushes do not queue on the database's stats entry.
 * Returns the number of statements sent: each is a commit to subtract.
 */
async function touchPool(db: PgPool, counters: PgCounters): Promise<number> {
  if (!counters.flushesAtOnce) await sleep(1100);
  const clients = await Promise.all(Array.from({ length: db.totalCount }, () => db.connect()));
  try {
    for (const c of clients) await c.query(counters.flushStatement);
  } finally {
    for (const c of clients) c.release();
  }
  return clients.length;
}

/** A point in time: database counters (Postgres), coordinator statements, branch calls. */
interface Mark {
  db: DbSnapshot | null;
  queries: number;
  branchCalls: number;
  /** Commits the bench caused on the coordinator's connections just before this mark. */
  touches: number;
}

async function mark(bench: Bench): Promise<Mark> {
  await waitIdle(bench, performance.now() + bench.settings.drainSeconds * 1000);
  const touches = bench.counters ? await touchPool(bench.app.store.db, bench.counters) : 0;
  return {
    db: bench.counters ? await bench.counters.snapshot() : null,
    queries: bench.queries(),
    branchCalls: bench.branch.calls(),
    touches,
  };
}

/** Commits (net of the bench's own) and writing transactions between two marks. */
function dbDelta(a: Mark, b: Mark): { commits: number; writeXacts: number } | null {
  if (!a.db || !b.db) return null;
  const d = delta(a.db, b.db);
  return { commits: d.commits - b.touches, writeXacts: d.writeXacts };
}

/** How many sagas whose gid starts with `prefix` are in each status. */
async function statusCounts(bench: Bench, prefix: string): Promise<Map<string, number>> {
  const { rows } = await bench.query<{ status: string; n: string }>(
    `select status, count(*)::text as n from "${bench.schema}".trans_global
     where starts_with(gid, $1) group by status`,
    [prefix],
  );
  return new Map(rows.map((r) => [r.status, Number(r.n)]));
}

function describeCounts(counts: Map<string, number>): string {
  return [...counts].map(([s, n]) => `${n} ${s}`).join(", ") || "none";
}

/** Runs one workload: warm-up, measured window, (b: drain), counters. */
async function runWorkload(bench: Bench, w: Workload, notes: string[]): Promise<Row> {
  const { concurrency, seconds, warmupSeconds, drainSeconds } = bench.settings;
  const prefix = (phase: string) => `bench-${bench.runId}-${w.key}-${phase}-`;
  let seq = 0;
  const loop = (phase: string, ms: number) =>
    closedLoop(concurrency, ms, () => submit(bench, w, prefix(phase) + ++seq), bench.stopped);

  if (warmupSeconds > 0) {
    await loop("warmup", warmupSeconds * 1000);
    await waitIdle(bench, performance.now() + drainSeconds * 1000);
  }
  const before = await mark(bench);
  let peakInFlight = 0;
  const sampler = setInterval(() => (peakInFlight = Math.max(peakInFlight, bench.app.engine.inFlight)), 50);
  const start = performance.now();
  const load = await loop("run", seconds * 1000);
  clearInterval(sampler);
  let elapsedMs = load.elapsedMs;

  let counts = await statusCounts(bench, prefix("run"));
  if (!w.waitResult) {
    // completed sagas per second: from the first submit until every accepted saga has succeeded
    const deadline = performance.now() + drainSeconds * 1000;
    await waitIdle(bench, deadline);
    for (;;) {
      elapsedMs = performance.now() - start;
      counts = await statusCounts(bench, prefix("run"));
      if ((counts.get("succeed") ?? 0) >= load.ok || performance.now() > deadline || bench.stopped()) break;
      await sleep(200);
    }
    const drainS = (elapsedMs - load.elapsedMs) / 1000;
    notes.push(
      `${w.key}: ${load.ok} submits accepted in ${(load.elapsedMs / 1000).toFixed(1)} s ` +
        `(${Math.round(load.ok / (load.elapsedMs / 1000))}/s); all done ${drainS.toFixed(1)} s after the last ` +
        `submit; at most ${peakInFlight} passes in flight.`,
    );
  }
  const after = await mark(bench);

  const succeeded = counts.get("succeed") ?? 0;
  const notSucceeded = [...counts].filter(([s]) => s !== "succeed").reduce((sum, [, n]) => sum + n, 0);
  if (load.errors > 0 || notSucceeded > 0 || succeeded !== load.ok) {
    notes.push(
      `${w.key}: ${load.errors} failed submits, ${load.ok} accepted; stored: ${describeCounts(counts)}.` +
        (load.errorSamples.length
          ? ` First errors: ${load.errorSamples.map((e) => `\`${e}\``).join("; ")}`
          : ""),
    );
  }
  const lat = latencySummary(load.latenciesMs);
  const db = dbDelta(before, after);
  const per = (n: number) => (succeeded > 0 ? n / succeeded : NaN);
  return {
    workload: w.label,
    sagas: succeeded,
    sagasPerSec: succeeded / (elapsedMs / 1000),
    ...lat,
    errors: load.errors + notSucceeded,
    commitsPerSaga: db ? per(db.commits) : null,
    writeXactsPerSaga: db ? per(db.writeXacts) : null,
    queriesPerSaga: per(after.queries - before.queries),
    branchCallsPerSaga: per(after.branchCalls - before.branchCalls),
  };
}

/** Background activity of an idle coordinator (recovery polling, clock sync, anything else on the database). */
async function idleBaseline(bench: Bench, notes: string[], when: string): Promise<void> {
  const a = await mark(bench);
  const t0 = performance.now();
  await sleep(2000);
  const b = await mark(bench);
  const s = (performance.now() - t0) / 1000;
  const db = dbDelta(a, b);
  const parts = [`${((b.queries - a.queries) / s).toFixed(1)} coordinator statements/s`];
  if (db) {
    parts.push(
      `${(db.commits / s).toFixed(1)} commits/s in the database`,
      `${(db.writeXacts / s).toFixed(1)} writing transactions/s in the cluster`,
    );
  }
  notes.push(
    `Idle for 2 s ${when}: ${parts.join(", ")} (the recovery worker's polling, plus anything else ` +
      "using the same database or cluster; such background is included in the per-saga figures).",
  );
}

async function main(): Promise<number> {
  const settings = readSettings(process.env);
  let stopped = false;
  const onSignal = () => {
    console.error("stopping: finishing the current step and cleaning up");
    stopped = true;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  const runId = randomBytes(4).toString("hex");
  const onPostgres = settings.databaseUrl !== "";
  const schema = onPostgres ? `bench_${runId}` : "public";
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (err) {
        console.error("cleanup failed:", err);
      }
    }
  };

  try {
    const counters = onPostgres ? await PgCounters.open(settings.databaseUrl) : null;
    if (counters) {
      cleanups.push(() => counters.close());
      // registered now, run after the coordinator has closed its pool
      cleanups.push(() => counters.query(`drop schema if exists "${schema}" cascade`));
    }
    const branch = await startBranchService();
    cleanups.push(() => branch.close());

    // DTX_* variables tune the coordinator as they would in production; what the bench needs wins
    const config = loadConfig({
      overrides: {
        server: { host: "127.0.0.1", ports: [0] },
        log: { level: "silent" },
        store: onPostgres ? { url: settings.databaseUrl, schema } : { url: "", dataDir: "memory://" },
      },
    });
    const app = await App.start(config, { logger: createLogger("silent") });
    cleanups.push(() => app.close());
    const counted = countQueries(app.store);
    const client = new Pool(`http://127.0.0.1:${app.ports[0]}`, {
      connections: settings.concurrency,
      keepAliveTimeout: 60_000,
    });
    cleanups.push(() => client.close());

    const bench: Bench = {
      settings,
      app,
      client,
      branch,
      counters,
      schema,
      queries: counted.count,
      query: async <R extends QueryResultRow>(text: string, values?: unknown[]) =>
        (counters ? await counters.query<R>(text, values) : await counted.raw(text, values)) as { rows: R[] },
      runId,
      stopped: () => stopped,
    };

    const { rows: v } = await bench.query<{ v: string }>("select current_setting('server_version') as v");
    const store = onPostgres
      ? `Postgres ${counters!.serverVersion} on 127.0.0.1 (${counters!.durability}; schema ${schema}, ` +
        `pool ${config.store.poolSize})`
      : `PGlite in memory (Postgres ${v[0]!.v}, one connection)`;
    const settingsLine =
      `${settings.seconds} s per workload after ${settings.warmupSeconds} s warm-up, ` +
      `concurrency ${settings.concurrency}, recovery worker ${config.recovery.enabled ? "on" : "off"}, ` +
      `log level silent; load generator, coordinator and branch service share one Node process; ` +
      `1-min load average at start ${os.loadavg()[0]!.toFixed(2)}`;
    // read before the run: the sources may change while it runs
    const code = codeVersion(path.resolve(__dirname, "../.."));
    console.log(`store: ${store}\nsettings: ${settingsLine}\ncode: ${code ?? "unknown"}`);

    const notes: string[] = [];
    await idleBaseline(bench, notes, "before the workloads");
    const rows: Row[] = [];
    for (const key of settings.workloads) {
      if (stopped) break;
      const w = WORKLOADS.find((x) => x.key === key)!;
      console.log(`running ${w.label} ...`);
      const row = await runWorkload(bench, w, notes);
      rows.push(row);
      console.log(
        `  ${row.sagas} sagas, ${row.sagasPerSec.toFixed(0)}/s, p50 ${row.p50.toFixed(1)} ms, ` +
          `p99 ${row.p99.toFixed(1)} ms, errors ${row.errors}, commits/saga ${row.commitsPerSaga?.toFixed(2) ?? "n/a"}`,
      );
    }

    if (!stopped) await idleBaseline(bench, notes, "after the workloads");

    const markdown = await prettify(
      renderMarkdown({ date: new Date(), store, settings: settingsLine, code, rows, notes }),
      settings.out,
    );
    console.log("\n" + markdown);
    if (!stopped) writeFileSync(settings.out, markdown);
    console.log(stopped ? "interrupted: results not written" : `written to ${settings.out}`);
    return stopped ? 130 : 0;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // everything is closed; if some handle still keeps the loop alive, say so and leave anyway
    setTimeout(() => {
      console.error("warning: a handle was still open 5 s after cleanup; exiting");
      process.exit(code);
    }, 5000).unref();
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
