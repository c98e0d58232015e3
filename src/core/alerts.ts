import type { TransStatus } from "./model";

/**
 * A branch (or a check-back or resume URL) that keeps answering errors: what the alert webhook is
 * sent. The body is dtm's (`gid`, `status`, `branch`, `error`, `retry_count`) plus the branch's id
 * and op.
 */
export interface RetryAlert {
  gid: string;
  status: TransStatus;
  url: string;
  branchId: string;
  op: string;
  /** The last answer's text. */
  error: string;
  /** How many times the retry interval has doubled: ⌊log2(interval / base interval)⌋. */
  retryCount: number;
}

/** The core's port for alerts: hands one on; never throws, never makes the pass wait. */
export type AlertSink = (alert: RetryAlert) => void;

/**
 * dtm's retry count after an error: how many times the interval has doubled from the base (10 s →
 * 20 → 40 → 80 s is 3 on the third error in a row; the cap of the backoff caps it too).
 */
export function retryCount(intervalMs: number, baseMs: number): number {
  return baseMs > 0 && intervalMs > baseMs ? Math.floor(Math.log2(intervalMs / baseMs)) : 0;
}
