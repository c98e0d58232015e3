import { failure } from "../core/errors";
import type { TransRecord } from "../core/model";

/**
 * dtm's `wait_result` answer: after the first pass, a saga that did not succeed is reported as a
 * FAILURE carrying its rollback reason — also while it is still running (dtm does the same).
 */
export function checkWaitResult(trans: TransRecord): void {
  if (trans.status === "succeed") return;
  throw failure(trans.rollbackReason || "wait result not return success: FAILURE");
}
