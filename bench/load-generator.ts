/**
 * The load generator as a process of its own, forked by the bench: for each job it runs a closed loop of
 * `concurrency` workers submitting sagas through the job's API, and answers with counts and latency
 * percentiles (computed here, so only a summary crosses the IPC channel).
 */
import { serveParent } from "./ipc";
import { closedLoop, latencySummary } from "./load";
import { Submitters } from "./submitters";
import type { LoadJob, LoadResult } from "./workloads";

const submitters = new Submitters();

async function run(job: LoadJob): Promise<LoadResult> {
  const submit = submitters.for(job);
  let seq = 0;
  const r = await closedLoop(job.concurrency, job.durationMs, () => submit(job.gidPrefix + ++seq));
  return {
    ok: r.ok,
    errors: r.errors,
    elapsedMs: r.elapsedMs,
    ...latencySummary(r.latenciesMs),
    errorSamples: r.errorSamples,
  };
}

serveParent<LoadJob>(null, run);
process.once("SIGTERM", () => void submitters.close().finally(() => process.exit(0)));
