import type { TransRecord, TransStatus } from "./model";

/** A transaction's status moved (a compare-and-set that won). */
export interface StatusChangeEvent {
  gid: string;
  kind: string;
  /** The status before; several joined by `|` when the change accepted any of them (a force-stop). */
  from: string;
  to: TransStatus;
  /** The rollback reason given with the change ('' when none). */
  reason: string;
}

/**
 * What the engine reports about its passes (metrics, traces, logs). Each method must return at once
 * and never throw.
 */
export interface PassObserver {
  /** A pass ended: its transaction as the pass left it, and whether any branch call erred. */
  passEnded(trans: TransRecord, outcome: { erred: boolean }): void;
}
