import { invalidField } from "./errors";
import type { NewBranch } from "./model";

/** The default of `limits.maxPayloadBytes`: the largest payload one branch row may carry (256 KiB). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 262_144;

/**
 * Refuses a branch row whose payload is over `maxBytes`, naming the branch and the limit (the body
 * limit bounds a request; this bounds what each branch call sends and each row holds).
 */
export function checkPayloads(rows: readonly NewBranch[], maxBytes: number, field = "payloads"): void {
  for (const row of rows) {
    if (row.payload.length > maxBytes) {
      throw invalidField(
        [field],
        `the payload of branch ${row.branchId} (${row.op}) is ${row.payload.length} bytes, larger than the limit of ${maxBytes} bytes`,
      );
    }
  }
}
