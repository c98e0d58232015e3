import { failure } from "../core/errors";
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
