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
  /** A workflow's submit: `status` (succeed or failed), `rollback_reason`, `result` (base64). */
  reqExtra?: Record<string, string>;
  options: WireOptions;
}

/** One recorded step of a workflow: its branch id, op, status and data. */
export interface WorkflowStep {
  branchId: string;
  op: string;
  status: string;
  data: Buffer;
}

/** What prepareWorkflow answers: the stored workflow and its recorded steps. */
export interface WorkflowProgress {
  /** `prepared`, `succeed` or `failed`. */
  status: string;
  /** The stored result (a finished workflow's), decoded from base64. */
  result: Buffer;
  rollbackReason: string;
  steps: WorkflowStep[];
}

/** A branch registration: `data` holds the kind's keys (tcc: `confirm`, `cancel`; xa: `url`; workflow: `op`, `status`). */
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
  /** Creates a workflow as prepared, or loads it (whatever its status) with its recorded steps. */
  prepareWorkflow(request: TransRequest): Promise<WorkflowProgress>;
  close(): Promise<void>;
}
