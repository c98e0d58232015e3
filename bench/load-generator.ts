/**
 * The load generator as a process of its own, forked by the bench: for each job it runs a closed loop of
 * `concurrency` workers submitting sagas through the job's API, and answers with counts and latency
 * percentiles (computed here, so only a summary crosses the IPC channel). A job may instead pace its
 * submits at a fixed rate (its answer then carries each submit's start and latency too: a few hundred),
 * stop after a number of sagas, and a "stop" request ends the running job.
 */
import { serveParent } from "./ipc";
import { closedLoop, latencySummary, pacedLoop } from "./load";
import { Submitters } from "./submitters";
import type { LoadJob, LoadResult } from "./workloads";

const submitters = new Submitters();
/** Set by a "stop" request: the running job ends early. */
let stopRequested = false;

async function run(job: LoadJob | "stop"): Promise<LoadResult | null> {
  if (job === "stop") {
    stopRequested = true;
    return null;
  }
  stopRequested = false;
  const submit = submitters.for(job);
  let seq = 0;
  const limit = job.count ?? Infinity;
  const stop = () => stopRequested || seq >= limit;
  const op = () => submit(job.gidPrefix + ++seq);
  const r = job.ratePerSec
    ? await pacedLoop(job.ratePerSec, job.durationMs, op, stop)
    : await closedLoop(job.concurrency, job.durationMs, op, stop);
  return {
    ok: r.ok,
    errors: r.errors,
    elapsedMs: r.elapsedMs,
    ...latencySummary(r.latenciesMs),
    errorSamples: r.errorSamples,
    // a few hundred a window: the drain splits them at the moment resetCronTime returned
    ...(job.ratePerSec ? { paced: { startedAt: r.startedAt, latenciesMs: r.latenciesMs } } : {}),
  };
}

serveParent<LoadJob | "stop">(null, run);
process.once("SIGTERM", () => void submitters.close().finally(() => process.exit(0)));
