import type {
  BranchRegistration,
  NewBranch,
  NewTrans,
  TransDefinition,
  TransRecord,
  TransSettings,
  TransStatus,
} from "./model";
import type { Pass } from "./pass";
import type { RetrySettings } from "./retry-policy";

/** Server limits a kind validates against. */
export interface Limits {
  maxSteps: number;
}

/** What `abort` does to a kind: from which stored statuses, to which status. */
export interface AbortRule {
  from: TransStatus[];
  /** `aborting`: the engine drives the rollback; `failed`: nothing is called (msg). */
  to: "aborting" | "failed";
}

/** Which lifecycle verbs may create or move a kind (dtm's svcPrepare / svcSubmit / svcAbort). */
export interface Lifecycle {
  /** `prepare` may create it, as `prepared` (tcc, xa, msg, workflow). */
  prepare: boolean;
  /** `submit` may create it directly, as `submitted` (saga, msg; tcc and xa as dtm allows). */
  submit: boolean;
  /** Absent: `abort` is refused (saga). */
  abort?: AbortRule;
  /**
   * The client runs it and records its progress (workflow): `prepareOrLoad` creates it or loads it
   * with its recorded rows, and `submit` ends a prepared one with the outcome the client reports
   * (`NewTrans.outcome`) instead of driving it.
   */
  clientDriven?: boolean;
}

/** The lifecycle verb that creates a transaction. */
export type CreatingVerb = "prepare" | "submit";

/** What a kind may look up while a transaction is created (msg: the subscribers of a topic). */
export interface ResolveContext {
  /** The subscriber URLs of a topic, in subscription order; null when there is no such topic. */
  topicSubscribers(topic: string): Promise<string[] | null>;
}

/** What the first look at a new transaction depends on (ms). */
export interface DueSettings {
  /** The lease the creating coordinator holds (it drives a submitted transaction at once). */
  leaseMs: number;
  /** The server's timeout of every kind but saga. */
  timeoutToFailMs: number;
  retry: RetrySettings;
}

/**
 * One transaction kind (saga, tcc, xa, msg, workflow): everything the generic core needs to know
 * about it. The registry (registry.ts) maps `trans_type` to its module; nothing else switches on
 * the kind. Adding a kind is a module implementing this plus its registry entry.
 */
export interface TransKind {
  readonly lifecycle: Lifecycle;
  /**
   * Checks a new transaction's definition for the verb that creates it; throws InvalidField with the
   * path of the bad field.
   */
  validate(t: NewTrans, limits: Limits, verb: CreatingVerb): void;
  /**
   * Looks up what a validated definition refers to outside itself, before its rows are made (msg:
   * the current subscribers of its `topic://` steps); throws InvalidField when that does not exist.
   * Absent: the definition stands on its own.
   */
  resolve?(t: NewTrans, ctx: ResolveContext, limits: Limits): Promise<TransDefinition>;
  /**
   * The settings stored when a submit moves a prepared transaction of this kind to `submitted`: the
   * submit's own where it gives them (msg: dtm's SDKs send the delay with the submit only). Absent:
   * the prepared settings stay.
   */
  settingsOnSubmit?(stored: TransSettings, submitted: TransDefinition): TransSettings;
  /** The branch rows stored when the transaction is created (saga: compensate + action per step). */
  branchesOf(definition: TransDefinition): NewBranch[];
  /** What the kind keeps beside its rows. */
  settingsOf(definition: TransDefinition): TransSettings;
  /** The settings as the store's column text: private to the kind, readable from every older row. */
  encodeSettings(settings: TransSettings): string;
  /** The inverse of `encodeSettings`; never throws (a row that cannot be read keeps the defaults). */
  decodeSettings(text: string): TransSettings;
  /**
   * The rows a `registerBranch` adds to `stored` (a `prepared` transaction of this kind), validating
   * the request; absent: registration is refused.
   */
  registration?(r: BranchRegistration, stored: TransRecord): NewBranch[];
  /** When a newly created transaction first comes due (see due.ts). */
  firstDue(trans: TransRecord, settings: DueSettings): Date;
  /** Runs one pass: calls branches and moves statuses in memory (the engine writes the outcome). */
  runPass(pass: Pass): Promise<void>;
}
