import { status as GrpcStatus } from "@grpc/grpc-js";
import type { BranchResult } from "../core/branch-caller";

const MAX_DETAIL = 512;

/**
 * Classifies an HTTP answer; `code` is its status, `detail` its first 512 characters. Order matters and keeps old branch services working: 425 or a body
 * containing `ONGOING` first, then 409 or a body containing `FAILURE`, then any other non-200. `body` is
 * the head of the answer the caller read (http-caller.ts CLASSIFIED_BYTES).
 */
export function classifyHttp(status: number, body: string): BranchResult {
  const detail = body.length > MAX_DETAIL ? body.slice(0, MAX_DETAIL) : body;
  const code = String(status);
  if (status === 425 || body.includes("ONGOING")) return { outcome: "ONGOING", detail, code };
  if (status === 409 || body.includes("FAILURE")) return { outcome: "FAILURE", detail, code };
  if (status !== 200) return { outcome: "ERROR", detail, code };
  return { outcome: "SUCCESS", detail, code };
}

/**
 * Classifies a JSON-RPC branch's answer: by the HTTP rules first, then by the response's `error`:
 * absent or null is SUCCESS, code -32901 FAILURE, -32902 ONGOING, anything else (or a body that is no
 * JSON-RPC response) an error.
 */
export function classifyJsonRpc(status: number, body: string): BranchResult {
  const http = classifyHttp(status, body);
  if (http.outcome !== "SUCCESS") return http;
  let error: unknown;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new Error("not an object");
    error = (parsed as { error?: unknown }).error;
  } catch {
    return { outcome: "ERROR", detail: `not a JSON-RPC response: ${http.detail}` };
  }
  if (error === undefined || error === null) return http;
  const code = typeof error === "object" ? (error as { code?: unknown }).code : undefined;
  if (code === -32901) return { outcome: "FAILURE", detail: http.detail };
  if (code === -32902) return { outcome: "ONGOING", detail: http.detail };
  return { outcome: "ERROR", detail: `json-rpc error: ${http.detail}` };
}

/**
 * Classifies a gRPC status: ABORTED is FAILURE (but ABORTED with the message exactly `ONGOING` is
 * ONGOING, as pre-1.10 dtm branches answered), FAILED_PRECONDITION is ONGOING.
 */
export function classifyGrpc(code: number, message: string): BranchResult {
  const detail = message.length > MAX_DETAIL ? message.slice(0, MAX_DETAIL) : message;
  const name = GrpcStatus[code] ?? String(code);
  if (code === GrpcStatus.OK) return { outcome: "SUCCESS", detail, code: name };
  if (code === GrpcStatus.ABORTED) {
    return { outcome: message === "ONGOING" ? "ONGOING" : "FAILURE", detail, code: name };
  }
  if (code === GrpcStatus.FAILED_PRECONDITION) return { outcome: "ONGOING", detail, code: name };
  return { outcome: "ERROR", detail, code: name };
}
