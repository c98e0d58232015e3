import {
  isFinal,
  UNFINISHED,
  type BranchRecord,
  type NewBranch,
  type TransRecord,
  type TransStatus,
} from "../core/model";
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
import { lastFailureOf } from "../core/last-failure";

/**
 * The core's TransRepository in memory, with the compare-and-set and lease rules of the SQL
 * statements (src/store/*-statements.ts) — for unit tests of the core without a database. Every
 * method works on copies, so callers never share objects with the "stored" state.
 */
export class MemoryRepository implements TransRepository {
  private readonly trans = new Map<string, TransRecord>();
  private readonly branches: BranchRecord[] = [];
  private lastId = 0;

  async insert(trans: TransRecord, branches: NewBranch[]): Promise<InsertedTrans | null> {
    if (this.trans.has(trans.gid)) return null;
    const id = this.nextId();
    this.trans.set(trans.gid, { ...copy(trans), id, updateTime: trans.createTime });
    // rows of a new transaction are always `prepared`, as the insert statement writes them
    const branchIds = branches.map((b) =>
      this.addBranch(trans.gid, { ...b, status: "prepared" }, trans.createTime),
    );
    return { id, branchIds };
  }

  async savePass(w: PassWrite): Promise<boolean> {
    const t = this.trans.get(w.gid);
    if (!t || t.status !== w.fromStatus || t.owner !== w.owner) return false;
    t.status = w.toStatus;
    if (w.rollbackReason !== "") t.rollbackReason = w.rollbackReason;
    t.updateTime = w.now;
    if (w.toStatus === "succeed") t.finishTime = w.now;
    if (w.toStatus === "failed") t.rollbackTime = w.now;
    t.nextCronTime = w.nextCronTime;
    t.nextCronIntervalMs = w.nextCronIntervalMs;
    t.owner = w.ownerAfter;
    for (const change of w.branches) {
      const b = this.branches.find((x) => x.id === change.id && x.gid === w.gid);
      if (!b) continue;
      if (b.status !== change.status) b.finishTime = w.now;
      b.status = change.status as BranchRecord["status"];
      b.updateTime = w.now;
      b.attempts += change.calls;
      if (change.lastAnswer) b.lastAnswer = { ...change.lastAnswer };
    }
    return true;
  }

  async find(gid: string): Promise<TransRecord | null> {
    const t = this.trans.get(gid);
    return t ? copy(t) : null;
  }

  async findBranches(gids: string[]): Promise<BranchRecord[]> {
    return this.branches
      .filter((b) => gids.includes(b.gid))
      .map((b) => ({ ...b, lastAnswer: b.lastAnswer && { ...b.lastAnswer } }));
  }

  async claimByGid(c: GidClaim): Promise<TransRecord | null> {
    const t = this.trans.get(c.gid);
    if (!t || !c.statuses.includes(t.status)) return null;
    if (t.owner !== "" && (t.nextCronTime?.getTime() ?? 0) > c.now.getTime()) return null; // a live lease
    return this.lease(t, c.owner, c.now, c.leaseUntil);
  }

  async claimDue(c: DueClaim): Promise<ClaimedTrans[]> {
    const claimed = [...this.trans.values()]
      .filter(
        (t) => UNFINISHED.includes(t.status) && t.nextCronTime !== null && t.nextCronTime <= c.dueBefore,
      )
      .sort((a, b) => a.nextCronTime!.getTime() - b.nextCronTime!.getTime())
      .slice(0, c.limit)
      .map((t) => this.lease(t, c.owner, c.now, c.leaseUntil));
    const branches = await this.findBranches(claimed.map((t) => t.gid));
    return claimed.map((trans) => ({ trans, branches: branches.filter((b) => b.gid === trans.gid) }));
  }

  async setLease(gid: string, owner: string, until: Date): Promise<boolean> {
    const t = this.trans.get(gid);
    if (!t || t.owner !== owner || !UNFINISHED.includes(t.status)) return false;
    t.nextCronTime = until;
    return true;
  }

  async changeStatus(c: StatusChange): Promise<TransRecord | null> {
    const t = this.trans.get(c.gid);
    if (!t || !c.from.includes(t.status)) return null;
    t.status = c.to;
    if (c.rollbackReason !== "") t.rollbackReason = c.rollbackReason;
    if (c.settings) t.settings = c.settings;
    if (c.result !== undefined) t.result = c.result;
    t.updateTime = c.now;
    if (c.to === "succeed") t.finishTime = c.now;
    if (c.to === "failed") t.rollbackTime = c.now;
    if (isFinal(c.to)) {
      t.owner = "";
      t.nextCronTime = null;
    } else if (c.lease) {
      t.owner = c.lease.owner;
      t.nextCronTime = c.lease.until;
    }
    return copy(t);
  }

  async addBranches(
    gid: string,
    status: TransStatus,
    branches: NewBranch[],
    now: Date,
  ): Promise<AddBranchesResult> {
    if (this.trans.get(gid)?.status !== status) return "wrong-status";
    const key = (b: { branchId: string; op: string }): string => `${b.branchId}\u0000${b.op}`;
    const taken = new Set(this.branches.filter((b) => b.gid === gid).map(key));
    for (const b of branches) {
      if (taken.has(key(b))) return "duplicate"; // the unique key refuses the whole statement
      taken.add(key(b));
    }
    for (const b of branches) this.addBranch(gid, b, now);
    return "added";
  }

  async list(f: ListFilter): Promise<TransPage> {
    const rows = [...this.trans.values()]
      .filter(
        (t) =>
          (f.beforeId === undefined || BigInt(t.id) < BigInt(f.beforeId)) &&
          (f.statuses === undefined || f.statuses.includes(t.status)) &&
          (f.transType === undefined || t.transType === f.transType) &&
          (f.createdFrom === undefined || t.createTime >= f.createdFrom) &&
          (f.createdTo === undefined || t.createTime <= f.createdTo) &&
          (f.gidPrefix === undefined || t.gid.startsWith(f.gidPrefix)),
      )
      .sort((a, b) => Number(b.id) - Number(a.id))
      .slice(0, f.limit + 1);
    const transactions = rows.slice(0, f.limit).map((t) => ({
      ...copy(t),
      lastFailure: lastFailureOf(this.branches.filter((b) => b.gid === t.gid)),
    }));
    return { transactions, next: rows.length > f.limit ? transactions[transactions.length - 1]!.id : "" };
  }

  async makeDue(gid: string, at: Date): Promise<TransRecord | null> {
    const t = this.trans.get(gid);
    if (!t || !UNFINISHED.includes(t.status)) return null;
    t.nextCronTime = at;
    t.updateTime = at;
    return copy(t);
  }

  async makeDelayedDue(after: Date, now: Date, limit: number): Promise<DelayedDue> {
    const candidates = [...this.trans.values()]
      .filter((t) => UNFINISHED.includes(t.status) && t.nextCronTime !== null && t.nextCronTime > after)
      .sort((a, b) => b.nextCronTime!.getTime() - a.nextCronTime!.getTime());
    for (const t of candidates.slice(0, limit)) {
      t.nextCronTime = now;
      t.updateTime = now;
    }
    return { count: Math.min(limit, candidates.length), hasRemaining: candidates.length > limit };
  }

  async now(): Promise<Date> {
    return new Date();
  }

  async unfinishedSummary(now: Date): Promise<UnfinishedSummary> {
    const open = [...this.trans.values()].filter((t) => UNFINISHED.includes(t.status));
    const oldest = open.reduce<Date | null>(
      (o, t) => (o === null || t.createTime < o ? t.createTime : o),
      null,
    );
    const due = open.filter((t) => t.nextCronTime !== null && t.nextCronTime <= now).length;
    return { unfinished: open.length, due, oldestCreateTime: oldest };
  }

  private lease(t: TransRecord, owner: string, now: Date, until: Date): TransRecord {
    t.owner = owner;
    t.nextCronTime = until;
    t.updateTime = now;
    return copy(t);
  }

  private addBranch(gid: string, b: NewBranch, now: Date): string {
    const id = this.nextId();
    const { status, ...rest } = b;
    this.branches.push({
      ...rest,
      id,
      gid,
      status: status ?? "prepared",
      createTime: now,
      updateTime: now,
      finishTime: null,
      attempts: 0,
      lastAnswer: null,
    });
    return id;
  }

  private nextId(): string {
    return String(++this.lastId);
  }
}

/** A copy that shares no mutable part with the stored record. */
function copy(t: TransRecord): TransRecord {
  return { ...t, options: { ...t.options, branchHeaders: { ...t.options.branchHeaders } } };
}
