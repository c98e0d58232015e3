import { baseInterval } from "./retry-policy";
import type { TransRecord } from "./model";
import type { DueSettings } from "./trans-kind";

/**
 * When a new transaction first comes due, the choices a kind's `firstDue` picks from. The next
 * looks after a pass come from the retry rules (or the pass's `scheduleAt`).
 */

/** After the creator's lease: it drives the transaction now; recovery takes over if it cannot. */
export function afterLease(trans: TransRecord, s: DueSettings): Date {
  return new Date(trans.createTime.getTime() + s.leaseMs);
}

/** At its timeout (its own `timeout_to_fail`, else the server's): a prepared tcc, xa or msg waits for it. */
export function atTimeout(trans: TransRecord, s: DueSettings): Date {
  return new Date(trans.createTime.getTime() + (trans.options.timeoutToFailMs || s.timeoutToFailMs));
}

/** After its retry interval (a prepared workflow is resumed that often). */
export function afterRetryInterval(trans: TransRecord, s: DueSettings): Date {
  return new Date(trans.createTime.getTime() + baseInterval(s.retry, trans.options));
}
