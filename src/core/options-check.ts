import { branchHeaderProblem } from "./branch-headers";
import { invalidField } from "./errors";
import type { Protocol, TransOptions } from "./model";

/** The longest branch call or retry interval: what a Node timer can hold (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest timeout_to_fail: ten years. */
export const MAX_TIMEOUT_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * Checks options from any adapter: durations in range, and branch headers the transport callers of
 * the transaction's `protocol` can send (branch-headers.ts).
 */
export function checkOptions(o: TransOptions, protocol: Protocol): void {
  within("timeout_to_fail", o.timeoutToFailMs, MAX_TIMEOUT_MS);
  within("request_timeout", o.requestTimeoutMs, MAX_TIMER_MS);
  within("retry_interval", o.retryIntervalMs, MAX_TIMER_MS);
  if (!Number.isSafeInteger(o.retryLimit) || o.retryLimit < 0) {
    throw invalidField(["options", "retry_limit"], "must be a non-negative integer");
  }
  for (const [name, value] of Object.entries(o.branchHeaders)) {
    const problem = branchHeaderProblem(name, value, protocol);
    if (problem) throw invalidField(["options", "branch_headers", name], problem);
  }
}

function within(option: string, ms: number, max: number): void {
  const path = ["options", option];
  if (!Number.isFinite(ms) || ms < 0) throw invalidField(path, "must not be negative");
  if (ms > max) throw invalidField(path, `must be at most ${Math.floor(max / 1000)} seconds`);
}
