/**
 * The drain workload: a backlog of due sagas left by an outage of the branches, drained by dtx's recovery
 * worker while new submits keep arriving at a steady rate. Reports the drain rate and the submits'
 * latency during the drain against their latency just before it (the backlog stored, not yet due).
 */
import { request } from "undici";
import type { Coordinator } from "./coordinators";
import { latencySummary, sleep } from "./load";
import type { Row } from "./report";
import { cpuPerSaga, loadJobs, machineNote, type BenchContext } from "./run-workload";
import { statusCounts, waitDrained } from "./saga-status";
import type { LoadResult, Workload } from "./workloads";

/** The backlog's retry interval: far enough that only `resetCronTime` makes it due. */
const BACKLOG_RETRY_SECONDS = 3600;

/** dtm's `resetCronTime` until nothing is left: every transaction looked at later than 60 s from now is due now. */
async function resetCronTime(origin: string): Promise<void> {
  for (;;) {
    const res = await request(`${origin}/api/dtmsvr/resetCronTime?timeout=60&limit=1000`);
    const text = await res.body.text();
    if (res.statusCode !== 200)
      throw new Error(`resetCronTime: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
    if (!(JSON.parse(text) as { has_remaining: boolean }).has_remaining) return;
  }
}

const per = (n: number, sagas: number) => (sagas > 0 ? n / sagas : NaN);

/**
 * The submits of the window that started once resetCronTime had returned (at epoch ms `resetDone`,
 * `resetMs` into the window): while it runs, its calls rewrite the rows of the whole backlog (1,000
 * per call: the bench's default 40,000 in 40 statements).
 */
function afterReset(during: LoadResult, resetDone: number, resetMs: number, normalP99: number): string {
  const { startedAt, latenciesMs } = during.paced!;
  const after = latenciesMs.filter((_, i) => startedAt[i]! >= resetDone);
  const p99 = latencySummary(after).p99;
  return (
    `Those that started after resetCronTime returned (${(resetMs / 1000).toFixed(2)} s into the window): ` +
    `p99 ${p99.toFixed(1)} ms (${after.length} sagas), ${(p99 / normalP99).toFixed(2)}× the normal.`
  );
}

/**
 * How long the submits before the drain run: as long as the drain is expected to last (the backlog at
 * a's steady rate, when a ran), at least `seconds`, so that both p99s are read over about as many
 * submits. Over a shorter window one pause of the machine's disk (100–200 ms that every commit waits
 * out, drain or not) makes the p99 of a few hundred submits on its own, and the ratio swings with it.
 */
function normalWindowSeconds(
  seconds: number,
  backlog: number,
  steadyRate: number | null,
  drainSeconds: number,
): number {
  const expected = steadyRate ? backlog / steadyRate : 0;
  return Math.min(drainSeconds, Math.max(seconds, Math.ceil(expected)));
}

/**
 * 1. `backlog`: the branch service answers 503 (an outage) while `backlog` sagas are submitted with a
 *    retry interval of an hour; each first pass fails its first call and the saga waits. The outage ends.
 * 2. `normal`: submits at `drainRate`/s, the backlog stored but not due: their usual latency, over
 *    about as long as the drain will take (`normalWindowSeconds`).
 * 3. The window: submits at `drainRate`/s again, and dtm's `resetCronTime` makes the backlog due at once.
 *    The window ends when the branch service has answered the last action of every backlog saga.
 *
 * `steadyRate` is workload a's sagas/s of this run, if it ran: the rate the drain is compared with.
 */
export async function runDrain(
  ctx: BenchContext,
  coord: Coordinator,
  w: Workload,
  steadyRate: number | null,
): Promise<Row> {
  const { seconds, warmupSeconds, drainSeconds, backlog, drainRate } = ctx.settings;
  const { prefix, job, load } = loadJobs(ctx, coord, w);

  const backlogPrefix = `${prefix}backlog-`;
  await ctx.branch.request({ outage: true });
  const made = Date.now();
  const created = await load(
    job("backlog", drainSeconds * 1000, { count: backlog, retryIntervalSec: BACKLOG_RETRY_SECONDS }),
  ).finally(() => ctx.branch.request({ outage: false }));
  const madeSeconds = (Date.now() - made) / 1000;
  await ctx.branch.request({ finished: backlogPrefix });

  if (warmupSeconds > 0) await load(job("warmup", warmupSeconds * 1000, { ratePerSec: drainRate }));
  const normalSeconds = normalWindowSeconds(seconds, backlog, steadyRate, drainSeconds);
  const normal = await load(job("normal", normalSeconds * 1000, { ratePerSec: drainRate }));

  const pids = { coordinator: coord.child.pid, branch: ctx.branch.pid, load: ctx.load.pid };
  const calls0 = await ctx.branch.request<number>("calls");
  const cpu0 = await ctx.cpu.sample(pids, coord.pgAppName);
  const start = Date.now();
  const submits = load(job("run", drainSeconds * 1000, { ratePerSec: drainRate }));
  await resetCronTime(coord.origin);
  const resetDone = Date.now();
  let done = { count: 0, lastAt: 0 };
  while (done.count < backlog && Date.now() < start + drainSeconds * 1000 && !ctx.stopped()) {
    await sleep(50);
    done = await ctx.branch.request<{ count: number; lastAt: number }>({ finished: backlogPrefix });
  }
  await ctx.load.request("stop");
  const during = await submits;
  const cpu1 = await ctx.cpu.sample(pids, coord.pgAppName);
  const calls1 = await ctx.branch.request<number>("calls");
  const drainMs = (done.lastAt || Date.now()) - start;

  await waitDrained(coord.origin, Date.now() + drainSeconds * 1000, ctx.stopped);
  const stored = await statusCounts(coord.origin, backlogPrefix, prefix);
  const drained = stored.get("succeed") ?? 0;
  const other = [...stored].filter(([s]) => s !== "succeed");
  const label = `drain (${coord.kind})`;
  ctx.notes.push(
    `${label}: ${drained} of ${backlog} backlog sagas drained in ${(drainMs / 1000).toFixed(1)} s ` +
      `(${Math.round(per(drained * 1000, drainMs))}/s` +
      (steadyRate
        ? `, ${(drained / (drainMs / 1000) / steadyRate).toFixed(2)}× a's steady ${Math.round(steadyRate)}/s`
        : "") +
      `); the backlog took ${madeSeconds.toFixed(1)} s to make (${created.ok + created.errors} submits, ` +
      `answered ${created.errorSamples.map((e) => `\`${e.slice(0, 80)}\``).join("; ") || "200"}).` +
      (other.length ? ` Not succeeded: ${other.map(([s, n]) => `${n} ${s}`).join(", ")}.` : ""),
    `${label}: submits at ${drainRate}/s: before the drain (backlog stored, not due) p50 ${normal.p50.toFixed(1)} ms, p99 ` +
      `${normal.p99.toFixed(1)} ms (${normal.ok} sagas, ${normal.errors} errors); during the drain p50 ` +
      `${during.p50.toFixed(1)} ms, p99 ${during.p99.toFixed(1)} ms (${during.ok} sagas, ${during.errors} ` +
      `errors): p99 ${(during.p99 / normal.p99).toFixed(2)}× the normal. ` +
      afterReset(during, resetDone, resetDone - start, normal.p99) +
      (during.errorSamples.length
        ? ` First errors: ${during.errorSamples.map((e) => `\`${e}\``).join("; ")}`
        : ""),
  );
  const usage = ctx.cpu.usage(cpu0, cpu1);
  const sagas = drained + during.ok;
  ctx.notes.push(machineNote(label, usage, sagas));
  return {
    workload: w.label,
    coordinator: coord.kind,
    sagas: drained,
    sagasPerSec: per(drained * 1000, drainMs),
    p50: during.p50,
    p99: during.p99,
    errors: during.errors + (backlog - drained),
    commitsPerSaga: null,
    writeXactsPerSaga: null,
    branchCallsPerSaga: per(calls1 - calls0, sagas),
    cpu: cpuPerSaga(usage, sagas),
  };
}
