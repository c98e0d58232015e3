import { invalidField, type FieldPath } from "./errors";
import type { Protocol } from "./model";

/**
 * Checks a branch URL a client gave (a saga step's, a registered branch's): an http(s) URL, or — for a
 * transaction whose protocol is grpc — `host:port/package.Service/Method`. Empty URLs are the
 * caller's to allow (nothing to call, counts as success) or refuse.
 */
export function checkBranchUrl(url: string, protocol: Protocol, path: FieldPath): void {
  if (url.length > 1024) throw invalidField(path, "is longer than 1024 characters");
  if (/^https?:\/\//.test(url)) {
    try {
      new URL(url);
      return;
    } catch {
      throw invalidField(path, `${JSON.stringify(url)} is not a valid URL`);
    }
  }
  if (protocol === "grpc" && /^[^/\s:]+:\d+\/[\w.]+\/\w+$/.test(url)) return;
  throw invalidField(
    path,
    protocol === "grpc"
      ? `${JSON.stringify(url)} is neither an http(s) URL nor host:port/package.Service/Method`
      : `${JSON.stringify(url)} is not an http(s) URL`,
  );
}
