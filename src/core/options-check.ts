import { invalidField } from "./errors";
import type { TransOptions } from "./model";

/** The longest branch call or retry interval: what a Node timer can hold (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;
/** The longest timeout_to_fail: ten years. */
export const MAX_TIMEOUT_MS = 10 * 365 * 24 * 3600 * 1000;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Checks options from any adapter: durations in range, headers that HTTP and gRPC can carry. */
export function checkOptions(o: TransOptions): void {
  within("timeout_to_fail", o.timeoutToFailMs, MAX_TIMEOUT_MS);
  within("request_timeout", o.requestTimeoutMs, MAX_TIMER_MS);
  within("retry_interval", o.retryIntervalMs, MAX_TIMER_MS);
  if (!Number.isSafeInteger(o.retryLimit) || o.retryLimit < 0) {
    throw invalidField(["options", "retry_limit"], "must be a non-negative integer");
  }
  for (const [k, v] of Object.entries(o.branchHeaders)) {
    const path = ["options", "branch_headers", k];
    if (!HEADER_NAME.test(k)) throw invalidField(path, "is not a valid header name");
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(v))
      throw invalidField(path, "contains a control character");
  }
}

function within(option: string, ms: number, max: number): void {
  const path = ["options", option];
  if (!Number.isFinite(ms) || ms < 0) throw invalidField(path, "must not be negative");
  if (ms > max) throw invalidField(path, `must be at most ${Math.floor(max / 1000)} seconds`);
}
