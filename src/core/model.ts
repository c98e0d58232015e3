/**
 * The coordinator's plain data model. Durations are milliseconds here; dtm's seconds exist
 * only at the dtm-compatible edge (src/api/dtm-*).
 */

/** Global transaction statuses, spelled as dtm stores them. */
export type TransStatus = "prepared" | "submitted" | "aborting" | "succeed" | "failed";

/** The statuses of unfinished transactions: the ones the recovery worker looks at. */
export const UNFINISHED: readonly TransStatus[] = ["prepared", "submitted", "aborting"];

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
  /** What the kind keeps beside its branch rows (saga: concurrency and orders), decoded. */
  settings: TransSettings;
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
  /**
   * The trace context of the request that created it (W3C `traceparent`/`tracestate` as JSON text;
   * trace-context.ts); absent without tracing.
   */
  traceContext?: string;
  /**
   * Reads only (`get`, listings): of the branches whose last answer was not SUCCESS, the one called
   * last; null when there is none.
   */
  lastFailure?: BranchFailure | null;
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
  /** How many times the coordinator has called it (an empty URL is never called). */
  attempts: number;
  /** Its last answer; null before its first call. */
  lastAnswer: BranchAnswer | null;
}

/** What a branch answered the last time it was called: why a transaction is stuck, when it is. */
export interface BranchAnswer {
  outcome: "SUCCESS" | "FAILURE" | "ONGOING" | "ERROR";
  /** The HTTP status (`"409"`) or gRPC code (`"ABORTED"`); empty when no answer came (network error, timeout). */
  code: string;
  /** The first 512 characters of the body or gRPC message, or the error. */
  text: string;
  /** When the call was made. */
  at: Date;
}

/** The branch a listing shows as the reason an unfinished (or failed) transaction is where it is. */
export interface BranchFailure {
  branchId: string;
  op: string;
  url: string;
  attempts: number;
  answer: BranchAnswer;
}

/** A branch operation before it is stored. */
export interface NewBranch {
  branchId: string;
  op: string;
  url: string;
  payload: Buffer;
  /** Registered rows only (addBranches): `prepared` unless given (a workflow records finished steps). */
  status?: BranchStatus;
}

/** One saga step: the forward action, its compensation, and the body both are called with. */
export interface SagaStep {
  /** Empty: nothing to call, counts as success (as in dtm). */
  action: string;
  compensate: string;
  payload: Buffer;
}

/**
 * A saga's layout: whether actions run in parallel, and which steps must have succeeded before
 * another may start. `concurrent` is undefined when the client did not say (sequential), so dtm's
 * `custom_data` reads back as it was sent.
 */
export interface SagaLayout {
  concurrent?: boolean;
  /** step index → the steps that must have succeeded before it may start. */
  orders: Map<number, number[]>;
}

/** A saga as a client defines it. */
export interface SagaDefinition extends SagaLayout {
  kind: "saga";
  steps: SagaStep[];
}

/**
 * One message step: a branch URL, or `topic://<name>` (delivered to every subscriber of the topic),
 * and the body it is called with.
 */
export interface MsgStep {
  /** Empty: nothing to call, counts as delivered (as in dtm). */
  action: string;
  payload: Buffer;
  /** A topic step's subscriber URLs, looked up when the message is created (the kind's `resolve`). */
  subscribers?: string[];
}

/** How a message is delivered: its steps one after the other or all at once, and not before `delayMs`. */
export interface MsgLayout {
  /** Undefined when the client did not say (sequential), so dtm's requests read back as sent. */
  concurrent?: boolean;
  /** No step is called before the message is this old (dtm's `custom_data` `delay`); 0: at once. */
  delayMs: number;
}

/** A 2-phase message as a client defines it. */
export interface MsgDefinition extends MsgLayout {
  kind: "msg";
  steps: MsgStep[];
}

/** Kinds whose branches arrive later by registration (tcc, xa): nothing to define up front. */
export interface RegisteredDefinition {
  kind: "tcc" | "xa";
}

/**
 * A workflow as its client defines it: the client runs it and records its progress; the coordinator
 * keeps the progress and resumes an unfinished one through its callback (`queryPrepared`).
 */
export interface WorkflowDefinition {
  kind: "workflow";
  /** The workflow's name in the client: the `op` of the resume call. */
  name: string;
  /** Its input: the body of the resume call. */
  input: Buffer;
}

/** A new transaction's kind-specific definition, discriminated by its kind. */
export type TransDefinition = SagaDefinition | MsgDefinition | RegisteredDefinition | WorkflowDefinition;

/** What a saga keeps beside its rows. */
export interface SagaSettings extends SagaLayout {
  kind: "saga";
}

/** What a message keeps beside its rows. */
export interface MsgSettings extends MsgLayout {
  kind: "msg";
}

/** What a workflow keeps beside its rows: its name and input, for the resume call. */
export interface WorkflowSettings {
  kind: "workflow";
  name: string;
  input: Buffer;
}

/** Kinds that keep nothing beside their rows. */
export interface NoSettings {
  kind: Exclude<TransType, "saga" | "msg" | "workflow">;
}

/** The kind-specific settings of a stored transaction, discriminated by its kind. */
export type TransSettings = SagaSettings | MsgSettings | WorkflowSettings | NoSettings;

/** What an adapter hands the core to create a transaction. */
export interface NewTrans {
  gid: string;
  protocol: Protocol;
  queryPrepared: string;
  options: TransOptions;
  /** The kind (`definition.kind`) and what it consists of. */
  definition: TransDefinition;
  /**
   * What the client reports when it ends a transaction it ran itself (a workflow's submit: dtm's
   * `req_extra`); absent on every other request.
   */
  outcome?: ClientOutcome;
}

/** How a client-driven transaction (a workflow) ended, as its client reports it. */
export interface ClientOutcome {
  status: "succeed" | "failed";
  /** Why it failed ('' keeps the stored reason). */
  rollbackReason: string;
  /** What it returned, base64 (dtm stores and returns the text as the client sent it). */
  result: string;
}

/** What an adapter hands the core to register a branch (tcc, xa, workflow). */
export interface BranchRegistration {
  gid: string;
  /** The request's `trans_type` (dtm takes the kind from the request, not from the stored row). */
  transType: string;
  branchId: string;
  /** The kind's own fields as dtm sends them (tcc: `confirm`, `cancel`; xa: `url`; workflow: `op`, `status`). */
  fields: Record<string, string>;
  payload: Buffer;
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
