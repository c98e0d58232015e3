import type { BranchAnswer, BranchRecord, NewBranch, TransRecord, TransSettings, TransStatus } from "./model";

/**
 * The core's port to stored transactions. `src/store/pg-repository.ts` implements it over Postgres
 * or PGlite (with group commit behind `insert` and `savePass`); `src/store/memory-repository.ts`
 * implements it in memory, with the same compare-and-set and lease semantics, for unit tests.
 *
 * Every change of a global status is a compare-and-set on the stored status (and, for a pass's
 * write, on the owner of the lease), so two coordinators — or a coordinator and an operator — can
 * never both win.
 */
export interface TransRepository {
  /** Inserts a transaction with its branch rows unless its gid exists (then null): one commit. */
  insert(trans: TransRecord, branches: NewBranch[]): Promise<InsertedTrans | null>;
  /** Writes a pass's outcome if its owner still holds the transaction in `fromStatus`; false when it lost. */
  savePass(write: PassWrite): Promise<boolean>;
  /** One transaction by gid, or null. */
  find(gid: string): Promise<TransRecord | null>;
  /** The branch rows of several transactions, in insertion order. */
  findBranches(gids: string[]): Promise<BranchRecord[]>;
  /**
   * Takes the lease of one transaction in one of `statuses` unless a live lease holds it (a duplicate
   * submit re-drives it). The fresh owner makes any older pass's write lose its compare-and-set.
   */
  claimByGid(claim: GidClaim): Promise<TransRecord | null>;
  /**
   * Claims up to `limit` due unfinished transactions, skipping rows another coordinator is claiming,
   * each with its branch rows (in insertion order): what their passes need, in one statement.
   */
  claimDue(claim: DueClaim): Promise<ClaimedTrans[]>;
  /** Moves the lease of a transaction `owner` holds (forward, or to now to hand it back); false when it lost it. */
  setLease(gid: string, owner: string, until: Date): Promise<boolean>;
  /** Compare-and-set of the status alone, optionally taking the lease; null when the status was not in `from`. */
  changeStatus(change: StatusChange): Promise<TransRecord | null>;
  /**
   * Inserts branch rows of one transaction, all or none, while its stored status is `status` — the
   * global row is locked meanwhile, so a concurrent status change waits for the rows or sees them.
   */
  addBranches(gid: string, status: TransStatus, branches: NewBranch[], now: Date): Promise<AddBranchesResult>;
  /** A page of transactions, newest first (see ListFilter). */
  list(filter: ListFilter): Promise<TransPage>;
  /**
   * Makes one unfinished transaction due at `at` (an operator's "retry now"), whoever holds its
   * lease: a pass still running then loses its write to the next claim. Null when the gid is
   * unknown or the transaction finished.
   */
  makeDue(gid: string, at: Date): Promise<TransRecord | null>;
  /**
   * Makes due at `now` up to `limit` unfinished transactions whose next look is after `after`
   * (cuts long backoffs short after an outage).
   */
  makeDelayedDue(after: Date, now: Date, limit: number): Promise<DelayedDue>;
  /** The store's clock (the coordinator's time is anchored to it). */
  now(): Promise<Date>;
  /** How many transactions are unfinished, how many of them are due at `now`, and the oldest one's creation. */
  unfinishedSummary(now: Date): Promise<UnfinishedSummary>;
}

/** The unfinished transactions at a glance (the admin page's health strip). */
export interface UnfinishedSummary {
  unfinished: number;
  due: number;
  oldestCreateTime: Date | null;
}

/** The ids a new transaction and its branch rows (in the order given) got. */
export interface InsertedTrans {
  id: string;
  branchIds: string[];
}

/** The result of one pass, written at its end (or at a checkpoint). */
export interface PassWrite {
  gid: string;
  /** The transaction's kind (for the status-change listeners). */
  transType?: string;
  owner: string;
  /** The owner afterwards: the same while the pass goes on, '' when it ends (the lease is free). */
  ownerAfter: string;
  fromStatus: TransStatus;
  toStatus: TransStatus;
  /** '' keeps the stored reason. */
  rollbackReason: string;
  now: Date;
  /** Null for a final status. */
  nextCronTime: Date | null;
  nextCronIntervalMs: number;
  /** Rows the pass changed or called: their status, the calls made since the last write, the last answer. */
  branches: BranchWrite[];
}

/** One row of a pass's write. */
export interface BranchWrite {
  id: string;
  status: string;
  /** Calls since the pass's last write (added to the stored attempts). */
  calls: number;
  /** Null when the pass did not call it (a status change alone). */
  lastAnswer: BranchAnswer | null;
}

/** A claim of one transaction by gid. */
export interface GidClaim {
  gid: string;
  statuses: TransStatus[];
  owner: string;
  now: Date;
  leaseUntil: Date;
}

/** A claim of due transactions: those whose next look is at or before `dueBefore`. */
export interface DueClaim {
  owner: string;
  now: Date;
  dueBefore: Date;
  leaseUntil: Date;
  limit: number;
}

/** A transaction a claim took, with its branch rows. */
export interface ClaimedTrans {
  trans: TransRecord;
  branches: BranchRecord[];
}

/**
 * A status change outside a pass (submit of a prepared transaction, abort). A final status ends the
 * lease and clears the next look; otherwise `lease`, when given, is taken whoever held it.
 */
export interface StatusChange {
  gid: string;
  from: TransStatus[];
  to: TransStatus;
  /** '' keeps the stored reason. */
  rollbackReason: string;
  /** The kind's settings to store with the change (a submit of a prepared message: its delay); absent: kept. */
  settings?: TransSettings;
  /** The result a client reports (a workflow's); undefined keeps the stored one. */
  result?: string;
  now: Date;
  lease?: { owner: string; until: Date };
}

/** What `makeDelayedDue` did: how many it made due, and whether more were left. */
export interface DelayedDue {
  count: number;
  hasRemaining: boolean;
}

/** What a registration came to: rows added, the transaction missing or in another status, or a row taken. */
export type AddBranchesResult = "added" | "wrong-status" | "duplicate";

/** Filters of a transaction listing; `beforeId` is the cursor (the smallest id of the previous page). */
export interface ListFilter {
  beforeId?: string;
  limit: number;
  /** Only these statuses (undefined: any). */
  statuses?: string[];
  transType?: string;
  createdFrom?: Date;
  createdTo?: Date;
  /** Only gids that start with this. */
  gidPrefix?: string;
}

/** One page of a listing and the cursor of the next ("" on the last page). */
export interface TransPage {
  transactions: TransRecord[];
  next: string;
}
