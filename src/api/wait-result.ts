import { failure, ongoing } from "../core/errors";
import { withSentinel } from "./dtm-errors";
import type { TransRecord } from "../core/model";

/**
 * dtm's `wait_result` answer: after the first pass, a saga that did not succeed is reported as a
 * FAILURE carrying its rollback reason — also while it is still running (dtm does the same).
 */
export function checkWaitResult(trans: TransRecord): void {
  if (trans.status === "succeed") return;
  // dtm's SDKs recognise a failure by the word FAILURE in the message, over HTTP and gRPC alike
  throw failure(
    trans.rollbackReason
      ? withSentinel(trans.rollbackReason, "FAILURE")
      : "wait result not return success: FAILURE",
  );
}

/**
 * An abort that waited for its first pass (asked for in the request or stored at prepare) answers
 * ONGOING while the rollback is not finished: it was accepted and is retried; it did not fail.
 */
export function checkAbortResult(trans: TransRecord, requested: boolean | undefined): void {
  if (trans.status === "failed" || !(requested ?? trans.options.waitResult)) return;
  throw ongoing(`the rollback of ${trans.gid} is not finished yet: it is retried. ONGOING`);
}
