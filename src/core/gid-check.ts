import { invalidField, type FieldPath } from "./errors";

/**
 * A gid must be present, short enough and free of control characters (they break logs and URLs) and of
 * U+FFFD: that is what a lenient decoder makes of bytes that are not UTF-8, so the gid the client
 * meant is unknown (JSON bodies are decoded strictly; a query string or a client's own text is not).
 */
export function checkGid(gid: string, maxLength: number, path: FieldPath = ["gid"]): void {
  if (gid === "") throw invalidField(path, "is required");
  if (gid.length > maxLength) throw invalidField(path, `is longer than ${maxLength} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(gid)) throw invalidField(path, "contains a control character");
  if (gid.includes("\ufffd")) throw invalidField(path, "contains U+FFFD (bytes that were not UTF-8?)");
}

/** The longest branch id the store keeps. */
export const MAX_BRANCH_ID_LENGTH = 128;

/** A registered branch id (`01`, `0201`, …): present, short enough, no control characters (as a gid). */
export function checkBranchId(branchId: string, path: FieldPath = ["branch_id"]): void {
  checkGid(branchId, MAX_BRANCH_ID_LENGTH, path);
}
