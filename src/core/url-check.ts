import { invalidField, type FieldPath } from "./errors";
import type { Protocol } from "./model";

/** The longest URL a branch row holds (the store's column). */
export const MAX_URL_LENGTH = 1024;

/**
 * A scheme-less gRPC target, `host:port/package.Service/Method`, as dtm's default driver reads it; an
 * IPv6 host in brackets (`[::1]:50051/...`), as gRPC's dial accepts it.
 */
const GRPC_TARGET = /^(?:[^/\s:[\]]+|\[[0-9A-Fa-f:.]+\]):\d+\/[\w.]+\/\w+$/;

/**
 * Checks a branch URL a client gave (a saga step's, a registered branch's, a message's step or
 * check-back): an http(s) URL, or — for a transaction whose protocol is grpc —
 * `host:port/package.Service/Method`. Empty URLs are the caller's to allow (nothing to call, counts
 * as success) or refuse. Bad input at `path`.
 */
export function checkBranchUrl(url: string, protocol: Protocol, path: FieldPath): void {
  if (url.length > MAX_URL_LENGTH) throw invalidField(path, `is longer than ${MAX_URL_LENGTH} characters`);
  if (/^https?:\/\//.test(url)) {
    try {
      new URL(url);
      return;
    } catch {
      throw invalidField(path, `${JSON.stringify(url)} is not a valid URL`);
    }
  }
  if (protocol === "grpc" && GRPC_TARGET.test(url)) return;
  throw invalidField(
    path,
    protocol === "grpc"
      ? `${JSON.stringify(url)} is neither an http(s) URL nor host:port/package.Service/Method`
      : `${JSON.stringify(url)} is not an http(s) URL`,
  );
}

/** Whether a URL may name a branch of some transaction: an http(s) URL or a gRPC target (topic subscribers). */
export function isCallableUrl(url: string): boolean {
  if (url.length > MAX_URL_LENGTH) return false;
  if (GRPC_TARGET.test(url)) return true;
  if (!/^https?:\/\//.test(url)) return false;
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a branch of a `json-rpc` transaction is called as JSON-RPC (dtm's rule: its URL contains
 * `method`, whose query parameter names the JSON-RPC method); other URLs are plain HTTP.
 */
export function isJsonRpcCall(protocol: Protocol, url: string): boolean {
  return protocol === "json-rpc" && url.includes("method");
}

/**
 * A JSON-RPC branch gets its payload as `params`, with gid, trans_type, branch_id and op added: the
 * payload must be a JSON object (or empty). Checked when the transaction is created, so a message that
 * could never be delivered is refused instead of retried forever. Bad input at `path`.
 */
export function checkJsonRpcPayload(protocol: Protocol, url: string, payload: Buffer, path: FieldPath): void {
  if (!isJsonRpcCall(protocol, url) || payload.length === 0) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload.toString("utf8"));
  } catch {
    throw invalidField(path, "must be a JSON object: it is sent as the JSON-RPC params");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalidField(path, "must be a JSON object: it is sent as the JSON-RPC params");
  }
}
