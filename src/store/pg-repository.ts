import type { StatusChangeEvent } from "../core/observer";
import type { BranchRecord, NewBranch, TransRecord, TransStatus } from "../core/model";
import type {
  AddBranchesResult,
  DelayedDue,
  ClaimedTrans,
  DueClaim,
  GidClaim,
  InsertedTrans,
  ListFilter,
  PassWrite,
  StatusChange,
  TransPage,
  TransRepository,
  UnfinishedSummary,
} from "../core/repository";
import { addBranches, findBranches } from "./branch-statements";
import { claimDue } from "./claim-statements";
import { listTrans } from "./list-statements";
import { unfinishedSummary } from "./summary-statements";
import type { Store } from "./store";
import * as sql from "./trans-statements";
import { TransWriter, type GroupCommitSettings } from "./trans-writer";

/**
 * The core's TransRepository over `pg` (Postgres, or PGlite through its node-postgres adapter): one
 * statement per method, the two hot-path writes (`insert`, `savePass`) with group commit.
 */
export class PgRepository implements TransRepository {
  private readonly writer: TransWriter;

  constructor(
    private readonly store: Store,
    groupCommit: GroupCommitSettings,
    /** Told every status change this repository wrote (metrics, logs); must not throw. */
    private readonly onStatusChange?: (e: StatusChangeEvent) => void,
  ) {
    this.writer = new TransWriter(store.sql, groupCommit);
  }

  insert(trans: TransRecord, branches: NewBranch[]): Promise<InsertedTrans | null> {
    return this.writer.insert(trans, branches);
  }

  async savePass(write: PassWrite): Promise<boolean> {
    const saved = await this.writer.savePass(write);
    if (saved && write.fromStatus !== write.toStatus) {
      this.onStatusChange?.({
        gid: write.gid,
        kind: write.transType ?? "",
        from: write.fromStatus,
        to: write.toStatus,
        reason: write.rollbackReason,
      });
    }
    return saved;
  }

  find(gid: string): Promise<TransRecord | null> {
    return sql.findTrans(this.store.sql, gid);
  }

  findBranches(gids: string[]): Promise<BranchRecord[]> {
    return findBranches(this.store.sql, gids);
  }

  claimByGid(c: GidClaim): Promise<TransRecord | null> {
    return sql.claimByGid(this.store.sql, c.gid, c.statuses, c.owner, c.now, c.leaseUntil);
  }

  claimDue(c: DueClaim): Promise<ClaimedTrans[]> {
    return claimDue(this.store.sql, c.owner, c.now, c.dueBefore, c.leaseUntil, c.limit);
  }

  setLease(gid: string, owner: string, until: Date): Promise<boolean> {
    return sql.setLease(this.store.sql, gid, owner, until);
  }

  async changeStatus(change: StatusChange): Promise<TransRecord | null> {
    const changed = await sql.changeStatus(this.store.sql, change);
    if (changed) {
      this.onStatusChange?.({
        gid: changed.gid,
        kind: changed.transType,
        from: change.from.join("|"),
        to: changed.status,
        reason: change.rollbackReason,
      });
    }
    return changed;
  }

  addBranches(
    gid: string,
    status: TransStatus,
    branches: NewBranch[],
    now: Date,
  ): Promise<AddBranchesResult> {
    return addBranches(this.store.sql, gid, status, branches, now);
  }

  makeDue(gid: string, at: Date): Promise<TransRecord | null> {
    return sql.makeDue(this.store.sql, gid, at);
  }

  makeDelayedDue(after: Date, now: Date, limit: number): Promise<DelayedDue> {
    return sql.makeDelayedDue(this.store.sql, after, now, limit);
  }

  list(filter: ListFilter): Promise<TransPage> {
    return listTrans(this.store.sql, filter);
  }

  unfinishedSummary(now: Date): Promise<UnfinishedSummary> {
    return unfinishedSummary(this.store.sql, now);
  }

  now(): Promise<Date> {
    return sql.dbNow(this.store.sql);
  }
}
