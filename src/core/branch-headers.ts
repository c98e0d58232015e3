import type { Protocol } from "./model";

/**
 * Which `branch_headers` the transport callers can send: one rule set, checked at submit (so a header
 * that would make every branch call fail is refused up front) and by the callers themselves.
 *
 * HTTP (undici, node_modules/undici/lib/core/request.js `processHeader`): a name must be an HTTP token;
 * `connection`, `content-length`, `expect`, `keep-alive`, `transfer-encoding` and `upgrade` are refused
 * (or describe the exchange the caller makes itself); a value may hold tab, 0x20–0x7e and 0x80–0xff.
 *
 * gRPC (gRPC's metadata rules, as grpc-js's node_modules/@grpc/grpc-js/build/src/metadata.js `validate`
 * applies them), for transactions whose protocol is grpc: a name, lowercased, may hold 0-9 a-z _ . -
 * only; a `-bin` name needs bytes, which a string header cannot give; HTTP/2 refuses connection-specific
 * headers (node:http2 throws), and `content-length` resets the stream; a value may hold 0x20–0x7e only.
 * A grpc transaction may call http(s) URLs too, so both rule sets apply to it.
 */

const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// undici's header value rule (headerCharRegex, inverted)
const HTTP_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const HTTP_REFUSED = new Set([
  "connection",
  "content-length",
  "expect",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
]);

const GRPC_NAME = /^[0-9a-z_.-]+$/;
const GRPC_VALUE = /^[\x20-\x7e]*$/;
const GRPC_REFUSED = new Set([
  "connection",
  "content-length",
  "http2-settings",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
]);

/** What is wrong with one branch header for a transaction of `protocol`, or null when the callers can send it. */
export function branchHeaderProblem(name: string, value: string, protocol: Protocol): string | null {
  const lower = name.toLowerCase();
  if (!HTTP_TOKEN.test(name)) return "is not a valid header name";
  if (HTTP_REFUSED.has(lower)) return "is a header the HTTP branch call sets itself";
  if (!HTTP_VALUE.test(value)) return "contains a character an HTTP header cannot carry";
  if (protocol !== "grpc") return null;
  if (!GRPC_NAME.test(lower)) return "is not a valid gRPC metadata key (0-9 a-z _ . - only)";
  if (lower.endsWith("-bin")) return "is a binary gRPC metadata key: its value cannot be a string";
  if (GRPC_REFUSED.has(lower)) return "is a connection header HTTP/2 refuses";
  if (!GRPC_VALUE.test(value))
    return "contains a character gRPC metadata cannot carry (printable ASCII only)";
  return null;
}
