import { invalidArgument } from "../core/errors";

/** A gid must be present, short enough and free of control characters (they break logs and URLs). */
export function checkGid(gid: string, maxLength: number, field = "gid"): void {
  if (gid === "") throw invalidArgument(field, "is required");
  if (gid.length > maxLength) throw invalidArgument(field, `is longer than ${maxLength} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(gid)) throw invalidArgument(field, "contains a control character");
}
