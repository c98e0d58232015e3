import type { Protocol } from "./model";

/**
 * What a branch call came to (dtm's result vocabulary):
 * SUCCESS: done; FAILURE: failed for good; ONGOING: not yet, ask again later; ERROR: transient.
 */
export type BranchOutcome = "SUCCESS" | "FAILURE" | "ONGOING" | "ERROR";

/** A finished branch call: the outcome and a text for logs and rollback reasons. */
export interface BranchResult {
  outcome: BranchOutcome;
  /** The response body or gRPC message (truncated), or the network error. */
  detail: string;
  /** The HTTP status (`"409"`) or gRPC code name (`"ABORTED"`); absent when no answer came. */
  code?: string;
}

/** One call of one branch operation, as the engine asks for it. */
export interface BranchRequest {
  url: string;
  gid: string;
  transType: string;
  branchId: string;
  op: string;
  payload: Buffer;
  /** `branch_headers` of the transaction: extra HTTP headers / gRPC metadata. */
  headers: Record<string, string>;
  timeoutMs: number;
  /** Force POST even with an empty body (XA phase 2). */
  forcePost?: boolean;
}

/**
 * The core's port for outbound branch calls. `src/branch/transport-caller.ts` implements it over
 * undici and node:http2; a metrics or tracing wrapper, or a scripted caller in tests, can stand in.
 */
export interface BranchCaller {
  /** Calls one branch operation; never throws (network errors and timeouts are ERROR results). */
  call(protocol: Protocol, req: BranchRequest): Promise<BranchResult>;
}
