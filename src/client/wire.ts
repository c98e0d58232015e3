import type { WireOptions } from "./options";

/** A global transaction's kind, as dtm names it. */
export type TransType = "saga" | "tcc" | "xa" | "msg" | "workflow";

/**
 * One prepare / submit / abort request, independent of the transport: the HTTP transport turns it
 * into dtm's JSON body, the gRPC transport into `dtmgimp.DtmRequest`.
 */
export interface TransRequest {
  gid: string;
  transType: TransType;
  /** saga: `{action, compensate}` per step; msg: `{action}` per step. */
  steps?: Array<Record<string, string>>;
  /** One per step. */
  payloads?: Uint8Array[];
  /** dtm's `custom_data` JSON text (saga concurrency and orders, msg delay). */
  customData?: string;
  queryPrepared?: string;
  /** msg only: run the steps in parallel. */
  concurrent?: boolean;
  rollbackReason?: string;
  options: WireOptions;
}

/** A TCC branch registration: `data` holds the phase-2 URLs (`confirm`, `cancel`). */
export interface RegisterRequest {
  gid: string;
  transType: TransType;
  branchId: string;
  data: Record<string, string>;
  payload: Uint8Array;
}

/** The coordinator's lifecycle verbs over one transport (HTTP or gRPC). */
export interface CoordinatorTransport {
  /** `http` or `grpc`. */
  readonly protocol: "http" | "grpc";
  /** What branches receive as `dtm`: the HTTP base URL of dtm's routes, or the gRPC target. */
  readonly address: string;
  newGid(): Promise<string>;
  call(operation: "prepare" | "submit" | "abort", request: TransRequest): Promise<void>;
  registerBranch(request: RegisterRequest): Promise<void>;
  close(): Promise<void>;
}
