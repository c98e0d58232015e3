/**
 * The retry interval rules (dtm's §5.5), applied after each branch call in the order the answers
 * arrive; after the pass the next look at an unfinished transaction is due after the resulting
 * `next_cron_interval`. The interval is
 * - reset to the base interval by a call that made progress (SUCCESS, or a saga action's FAILURE),
 * - kept by ONGOING (fixed-interval polling),
 * - doubled by an error (exponential backoff), up to `maxIntervalMs`.
 */

/** What one branch call came to, for the interval. */
export type CallOutcome = "error" | "ongoing" | "progress";

/** Server-wide retry settings. */
export interface RetrySettings {
  /** Base interval (dtm RetryInterval, default 10 s). */
  intervalMs: number;
  /** Cap of the doubling. */
  maxIntervalMs: number;
}

/** The base interval of one transaction: its own retry interval, else its timeout if shorter, else the server's. */
export function baseInterval(
  settings: RetrySettings,
  opts: { retryIntervalMs: number; timeoutToFailMs: number },
): number {
  if (opts.retryIntervalMs > 0) return opts.retryIntervalMs;
  if (opts.timeoutToFailMs > 0 && opts.timeoutToFailMs < settings.intervalMs) return opts.timeoutToFailMs;
  return settings.intervalMs;
}

/** The interval after a call with the given outcome. */
export function nextInterval(outcome: CallOutcome, currentMs: number, baseMs: number, maxMs: number): number {
  if (outcome === "error") return Math.min(Math.max(currentMs, baseMs) * 2, Math.max(maxMs, baseMs));
  if (outcome === "ongoing") return currentMs > 0 ? currentMs : baseMs;
  return baseMs;
}
