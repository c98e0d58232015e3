import { invalidField, type FieldPath } from "./errors";

/** A gid must be present, short enough and free of control characters (they break logs and URLs). */
export function checkGid(gid: string, maxLength: number, path: FieldPath = ["gid"]): void {
  if (gid === "") throw invalidField(path, "is required");
  if (gid.length > maxLength) throw invalidField(path, `is longer than ${maxLength} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(gid)) throw invalidField(path, "contains a control character");
}
