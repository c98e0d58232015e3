/**
 * One workload against one coordinator: warm-up, measured window (CPU read from /proc at both ends),
 * drain for async submits, verification through the coordinator's listing, database counters.
 */
import type { Child } from "./children";
import type { Coordinator } from "./coordinators";
import type { CpuMeter, CpuUsage } from "./cpu-meter";
import { sleep } from "./load";
import { delta, type DbSnapshot, type PgCounters } from "./pg-counters";
import type { CpuPerSaga, Row } from "./report";
import { statusCounts, waitDrained } from "./saga-status";
import type { Settings } from "./settings";
import type { LoadJob, LoadResult, Workload } from "./workloads";

/** What every workload runs with. */
export interface BenchContext {
  settings: Settings;
  runId: string;
  load: Child;
  branch: Child;
  branchHttp: string;
  branchGrpc: string;
  /** Postgres only. */
  counters: PgCounters | null;
  cpu: CpuMeter;
  stopped: () => boolean;
  notes: string[];
}

/**
 * Reads the database counters once every coordinator connection has published its statistics: it waits
 * `settleSeconds` first, since an idle backend publishes 10 s after its last transaction. Null on PGlite.
 */
export async function settledSnapshot(ctx: BenchContext): Promise<DbSnapshot | null> {
  if (!ctx.counters) return null;
  const end = Date.now() + ctx.settings.settleSeconds * 1000;
  while (Date.now() < end && !ctx.stopped()) await sleep(Math.min(200, end - Date.now()));
  return ctx.counters.snapshot();
}

function describe(counts: Map<string, number>): string {
  return [...counts].map(([s, n]) => `${n} ${s}`).join(", ") || "none";
}

const per = (n: number, sagas: number) => (sagas > 0 ? n / sagas : NaN);

/** The CPU each process used in a window, per saga. */
export function cpuPerSaga(usage: CpuUsage, sagas: number): CpuPerSaga {
  return {
    coordinator: per(usage.coordinator, sagas),
    branch: per(usage.branch, sagas),
    load: per(usage.load, sagas),
    postgres: usage.postgres === null ? null : per(usage.postgres, sagas),
  };
}

/** One line on what else used the machine during the window. */
export function machineNote(label: string, u: CpuUsage, sagas: number): string {
  const cores = (ms: number) => (ms / u.wallMs).toFixed(2);
  const parts = [`${label}: window ${(u.wallMs / 1000).toFixed(1)} s`];
  if (u.machine !== null) {
    const ours = u.coordinator + u.branch + u.load + u.bench + (u.postgres ?? 0);
    parts.push(
      `machine busy ${cores(u.machine)} cores, of which ${cores(Math.max(0, u.machine - ours))} by ` +
        "processes outside this run (other Postgres clients included)",
    );
  }
  if (u.postgresCluster !== null)
    parts.push(`Postgres cluster-wide ${per(u.postgresCluster, sagas).toFixed(3)} ms/saga`);
  if (u.lostBackends > 0)
    parts.push(`${u.lostBackends} backends exited in the window (their CPU is missing)`);
  return parts.join("; ") + ".";
}

/**
 * The load jobs of workload `w` against `coord`: `job(phase, …)` builds one (its gids start with
 * `prefix` and the phase), `load` runs it on the load generator.
 */
export function loadJobs(ctx: BenchContext, coord: Coordinator, w: Workload) {
  const prefix = `bench-${ctx.runId}-${coord.kind}-${w.key}-`;
  const job = (phase: string, durationMs: number, extra: Partial<LoadJob> = {}): LoadJob => ({
    workload: w.key,
    origin: coord.origin,
    branchHttp: ctx.branchHttp,
    branchGrpc: ctx.branchGrpc,
    concurrency: ctx.settings.concurrency,
    durationMs,
    gidPrefix: `${prefix}${phase}-`,
    ...extra,
  });
  // a coordinator that dies mid-run ends the run instead of piling up errors
  const load = (j: LoadJob) => Promise.race([ctx.load.request<LoadResult>(j), coord.child.died()]);
  return { prefix, job, load };
}

/**
 * Runs workload `w` against `coord`; `before` is the settled counter reading taken before it. Returns the
 * row and the settled reading after it (the next workload's `before`).
 */
export async function runWorkload(
  ctx: BenchContext,
  coord: Coordinator,
  w: Workload,
  before: DbSnapshot | null,
): Promise<{ row: Row; after: DbSnapshot | null }> {
  const { seconds, warmupSeconds, drainSeconds } = ctx.settings;
  const { prefix, job, load } = loadJobs(ctx, coord, w);
  const label = `${w.key} (${coord.kind})`;
  const drain = () => waitDrained(coord.origin, Date.now() + drainSeconds * 1000, ctx.stopped);

  const warm = warmupSeconds > 0 ? await load(job("warmup", warmupSeconds * 1000)) : null;
  if (!w.waitResult) await drain();

  const pids = { coordinator: coord.child.pid, branch: ctx.branch.pid, load: ctx.load.pid };
  const calls0 = await ctx.branch.request<number>("calls");
  const cpu0 = await ctx.cpu.sample(pids, coord.pgAppName);
  const start = Date.now();
  const win = await load(job("run", seconds * 1000));
  let elapsedMs = win.elapsedMs;
  if (!w.waitResult) {
    // completed sagas per second: from the first submit until every accepted saga has finished
    const done = await drain();
    elapsedMs = Date.now() - start;
    ctx.notes.push(
      `${label}: ${win.ok} submits accepted in ${(win.elapsedMs / 1000).toFixed(1)} s ` +
        `(${Math.round(win.ok / (win.elapsedMs / 1000))}/s); ` +
        (done
          ? `all done ${((elapsedMs - win.elapsedMs) / 1000).toFixed(1)} s after the last submit.`
          : `not all done after ${drainSeconds} s.`),
    );
  }
  const cpu1 = await ctx.cpu.sample(pids, coord.pgAppName);
  const calls1 = await ctx.branch.request<number>("calls");

  // the floor has no listing: its 200 answer means the outcome is committed
  const counts =
    coord.kind === "dtx" ? await statusCounts(coord.origin, `${prefix}run-`) : new Map([["succeed", win.ok]]);
  const succeeded = counts.get("succeed") ?? 0;
  const notSucceeded = [...counts].filter(([s]) => s !== "succeed").reduce((sum, [, n]) => sum + n, 0);
  if (win.errors > 0 || notSucceeded > 0 || succeeded !== win.ok) {
    const samples = win.errorSamples.map((e) => `\`${e}\``).join("; ");
    ctx.notes.push(
      `${label}: ${win.errors} failed submits, ${win.ok} accepted; stored: ${describe(counts)}.` +
        (samples ? ` First errors: ${samples}` : ""),
    );
  }

  const after = await settledSnapshot(ctx);
  const usage = ctx.cpu.usage(cpu0, cpu1);
  ctx.notes.push(machineNote(label, usage, succeeded));
  // the counters span warm-up and window (and the settle waits, where only background work runs)
  const db = before && after ? delta(before, after) : null;
  const sagasBetweenReads = (warm?.ok ?? 0) + win.ok;
  const row: Row = {
    workload: w.label,
    coordinator: coord.kind,
    sagas: succeeded,
    sagasPerSec: succeeded / (elapsedMs / 1000),
    p50: win.p50,
    p99: win.p99,
    errors: win.errors + notSucceeded,
    commitsPerSaga: db ? per(db.commits, sagasBetweenReads) : null,
    writeXactsPerSaga: db ? per(db.writeXacts, sagasBetweenReads) : null,
    branchCallsPerSaga: per(calls1 - calls0, succeeded),
    cpu: cpuPerSaga(usage, succeeded),
  };
  return { row, after };
}
