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
