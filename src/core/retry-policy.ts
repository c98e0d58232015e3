/**
 * The retry interval rules (dtm's §5.5): after a pass the next look at an unfinished transaction is
 * due after `next_cron_interval`, which is
 * - reset to the base interval when the pass made progress without errors,
 * - kept when a branch answered ONGOING (fixed-interval polling),
 * - doubled when a branch errored (exponential backoff), up to `maxIntervalMs`.
 */

/** What the pass saw, worst first. */
export type PassOutcome = "error" | "ongoing" | "progress";

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

/** The next interval after a pass with the given outcome. */
export function nextInterval(outcome: PassOutcome, currentMs: number, baseMs: number, maxMs: number): number {
  if (outcome === "error") return Math.min(Math.max(currentMs, baseMs) * 2, Math.max(maxMs, baseMs));
  if (outcome === "ongoing") return currentMs > 0 ? currentMs : baseMs;
  return baseMs;
}

/** Merges two outcomes, keeping the worse. */
export function worse(a: PassOutcome, b: PassOutcome): PassOutcome {
  const rank = { progress: 0, ongoing: 1, error: 2 } as const;
  return rank[a] >= rank[b] ? a : b;
}
