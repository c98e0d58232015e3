/**
 * The coordinator's plain data model. Durations are milliseconds here; dtm's seconds exist
 * only at the dtm-compatible edge (src/api/dtm-*).
 */

/** Global transaction statuses, spelled as dtm stores them. */
export type TransStatus = "prepared" | "submitted" | "aborting" | "succeed" | "failed";

/** Branch operation statuses. */
export type BranchStatus = "prepared" | "succeed" | "failed";

/** Transaction kinds, spelled as dtm's `trans_type`. */
export type TransType = "saga" | "tcc" | "xa" | "msg" | "workflow";

/** How scheme-less branch URLs are called. */
export type Protocol = "http" | "grpc" | "json-rpc";

/** Per-transaction options (all durations in ms; 0 = use the server default). */
export interface TransOptions {
  waitResult: boolean;
  /** 0: never for a saga, the server default for the other kinds. */
  timeoutToFailMs: number;
  requestTimeoutMs: number;
  retryIntervalMs: number;
  branchHeaders: Record<string, string>;
  /** Saga only: retries of a not-yet-successful action within one pass; 0 = unlimited. */
  retryLimit: number;
  /** Saga only: the initial value of the in-pass retry counter. */
  retryCount: number;
}

/** A stored global transaction. */
export interface TransRecord {
  id: string;
  gid: string;
  transType: TransType;
  status: TransStatus;
  protocol: Protocol;
  queryPrepared: string;
  /** Kind-specific JSON text (saga: `{"concurrent":…,"orders":{…}}`), kept verbatim. */
  customData: string;
  options: TransOptions;
  rollbackReason: string;
  result: string;
  createTime: Date;
  updateTime: Date;
  finishTime: Date | null;
  rollbackTime: Date | null;
  nextCronTime: Date | null;
  nextCronIntervalMs: number;
  owner: string;
}

/** A stored branch operation. */
export interface BranchRecord {
  id: string;
  gid: string;
  branchId: string;
  op: string;
  url: string;
  payload: Buffer;
  status: BranchStatus;
  createTime: Date;
  updateTime: Date;
  finishTime: Date | null;
}

/** A branch operation before it is stored. */
export interface NewBranch {
  branchId: string;
  op: string;
  url: string;
  payload: Buffer;
}

/** What an adapter hands the core to create a transaction. */
export interface NewTrans {
  gid: string;
  transType: TransType;
  protocol: Protocol;
  queryPrepared: string;
  customData: string;
  options: TransOptions;
  /** Kind-specific definition the registry turns into branch rows (saga: the steps). */
  steps: Array<Record<string, string>>;
  payloads: Buffer[];
}

/** Default options: everything from the server. */
export function defaultOptions(): TransOptions {
  return {
    waitResult: false,
    timeoutToFailMs: 0,
    requestTimeoutMs: 0,
    retryIntervalMs: 0,
    branchHeaders: {},
    retryLimit: 0,
    retryCount: 0,
  };
}

/** Final statuses: nothing more happens to such a transaction. */
export function isFinal(status: TransStatus): boolean {
  return status === "succeed" || status === "failed";
}
