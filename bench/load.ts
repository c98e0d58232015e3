import { performance } from "node:perf_hooks";

/** What a closed-loop run did. */
export interface LoopResult {
  /** Operations that succeeded. */
  ok: number;
  /** Operations that threw. */
  errors: number;
  /** Latency of every successful operation, ms. */
  latenciesMs: number[];
  /** When each of them started (epoch ms), in the order of `latenciesMs`. */
  startedAt: number[];
  /** From the first request to the last answer, ms. */
  elapsedMs: number;
  /** The first few distinct error messages. */
  errorSamples: string[];
}

/**
 * Runs `op` from `concurrency` workers, each issuing its next request as soon as the previous one is
 * answered, until `durationMs` has passed (or `stop()` says so). Requests still in flight at the deadline
 * are waited for, so `elapsedMs` is slightly longer than `durationMs`.
 */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  op: () => Promise<void>,
  stop: () => boolean = () => false,
): Promise<LoopResult> {
  const result = emptyResult();
  const start = performance.now();
  const end = start + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end && !stop()) await measured(result, op);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.elapsedMs = performance.now() - start;
  return result;
}

/**
 * Starts `op` at a steady `ratePerSec` (an open loop: a slow answer does not delay the next start)
 * until `durationMs` has passed or `stop()` says so, then waits for those in flight.
 */
export async function pacedLoop(
  ratePerSec: number,
  durationMs: number,
  op: () => Promise<void>,
  stop: () => boolean = () => false,
): Promise<LoopResult> {
  const result = emptyResult();
  const start = performance.now();
  const inFlight: Array<Promise<void>> = [];
  for (let n = 0; performance.now() < start + durationMs && !stop(); n++) {
    const due = start + (n * 1000) / ratePerSec;
    if (due > performance.now()) await sleep(due - performance.now());
    inFlight.push(measured(result, op));
  }
  await Promise.all(inFlight);
  result.elapsedMs = performance.now() - start;
  return result;
}

function emptyResult(): LoopResult {
  return { ok: 0, errors: 0, latenciesMs: [], startedAt: [], elapsedMs: 0, errorSamples: [] };
}

/** Runs `op` once, counting it in `result` with its latency, or its error. */
async function measured(result: LoopResult, op: () => Promise<void>): Promise<void> {
  const t0 = performance.now();
  const at = Date.now();
  try {
    await op();
    result.latenciesMs.push(performance.now() - t0);
    result.startedAt.push(at);
    result.ok++;
  } catch (err) {
    result.errors++;
    const message = (err as Error).message;
    if (result.errorSamples.length < 5 && !result.errorSamples.includes(message)) {
      result.errorSamples.push(message);
    }
  }
}

/** The p-th percentile (0–100) of `values` by the nearest-rank method; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** p50, p95 and p99 of `values`, ms. */
export function latencySummary(values: number[]): { p50: number; p95: number; p99: number } {
  const sorted = Float64Array.from(values).sort();
  const arr = Array.from(sorted);
  return { p50: percentile(arr, 50), p95: percentile(arr, 95), p99: percentile(arr, 99) };
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
