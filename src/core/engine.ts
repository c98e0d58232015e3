import type { Logger } from "pino";
import type { BranchCaller } from "../branch/caller";
import type { Store } from "../store/store";
import * as sql from "../store/trans-statements";
import { TransWriter, type GroupCommitSettings } from "../store/trans-writer";
import type { Clock } from "./clock";
import { failure } from "./errors";
import { newGid } from "./gid";
import { isFinal, type BranchRecord, type NewTrans, type TransOptions, type TransRecord } from "./model";
import { checkOptions } from "./options-check";
import { Pass, PassLost } from "./pass";
import { transTypeModule } from "./registry";
import { baseInterval, type RetrySettings } from "./retry-policy";

/** How far a lease may fall short of a pass's need before it is extended (covers the time since it was taken). */
const LEASE_SLACK_MS = 1000;

/** Server settings of the engine (ms). */
export interface EngineSettings {
  retry: RetrySettings;
  requestTimeoutMs: number;
  timeoutToFailMs: number;
  /** How long a claim or a submit holds a transaction against other coordinators. */
  leaseMs: number;
  maxSteps: number;
  groupCommit: GroupCommitSettings;
}

/** What a submit did. */
export interface SubmitOutcome {
  /** The transaction after the request: after the first pass when `wait_result`, else as stored. */
  trans: TransRecord;
}

/**
 * The coordinator core: creates transactions, runs passes and writes their outcome. A happy-path
 * saga costs two commits: the insert of the transaction with all its branches, and the final
 * write of the pass. Passes of one gid never overlap within a process; across processes the owner
 * token of the lease decides which pass may write.
 */
export class Engine {
  private readonly running = new Map<string, Promise<TransRecord | null>>();
  /** The owner token each running pass holds, to hand leases back on a forced stop. */
  private readonly holders = new Map<string, string>();
  private readonly processId = newGid().slice(0, 8);
  private ownerSeq = 0;
  private closing = false;
  private readonly writer: TransWriter;

  constructor(
    private readonly store: Store,
    private readonly caller: BranchCaller,
    readonly clock: Clock,
    private readonly settings: EngineSettings,
    private readonly logger: Logger,
  ) {
    this.writer = new TransWriter(store.db, settings.groupCommit);
  }

  /**
   * Creates and drives a transaction (dtm's submit). An unfinished transaction with the same gid is
   * re-driven from its stored state; a finished one is a FAILURE.
   */
  async submit(t: NewTrans): Promise<SubmitOutcome> {
    const mod = transTypeModule(t.transType);
    checkOptions(t.options);
    mod.validate(t, { maxSteps: this.settings.maxSteps });
    const owner = this.newOwner();
    const now = this.clock.now();
    const interval = baseInterval(this.settings.retry, t.options);
    const newBranches = mod.branchesOf(t);
    const fresh: TransRecord = {
      id: "",
      gid: t.gid,
      transType: t.transType,
      status: "submitted",
      protocol: t.protocol,
      queryPrepared: t.queryPrepared,
      customData: t.customData,
      options: t.options,
      rollbackReason: "",
      result: "",
      createTime: now,
      updateTime: now,
      finishTime: null,
      rollbackTime: null,
      // leased to this process: the recovery worker leaves it alone while this pass runs
      nextCronTime: new Date(now.getTime() + this.leaseFor(t.options)),
      nextCronIntervalMs: interval,
      owner,
    };
    const inserted = await this.writer.insert(fresh, newBranches);
    let trans: TransRecord;
    let branches: BranchRecord[];
    if (inserted) {
      trans = { ...fresh, id: inserted.id };
      branches = newBranches.map((b, i) => ({
        ...b,
        id: inserted.branchIds[i]!,
        gid: t.gid,
        status: "prepared",
        createTime: now,
        updateTime: now,
        finishTime: null,
      }));
    } else {
      await this.settled(t.gid);
      const claimed = await sql.claimByGid(
        this.store.db,
        t.gid,
        ["submitted"],
        owner,
        now,
        new Date(now.getTime() + this.leaseFor(null)),
      );
      if (!claimed) {
        const existing = await sql.findTrans(this.store.db, t.gid);
        // still submitted: another coordinator's live lease drives it now
        if (existing?.status === "submitted") return { trans: existing };
        // dtm's text, typo included: SDKs and operators match on it
        throw failure(`current status '${existing?.status ?? "unknown"}', cannot sumbmit`);
      }
      trans = claimed;
      branches = await sql.findBranches(this.store.db, [t.gid]);
    }
    const pass = this.drive(trans, branches);
    if (!t.options.waitResult) return { trans };
    // a pass whose write lost the compare-and-set reports what is stored, not what it saw
    return { trans: (await pass) ?? (await sql.findTrans(this.store.db, t.gid)) ?? trans };
  }

  /**
   * Runs one pass over a transaction this process holds (owner = trans.owner) and writes its outcome.
   * Resolves with the transaction as written, or null when another owner won the write.
   */
  drive(trans: TransRecord, branches: BranchRecord[]): Promise<TransRecord | null> {
    const prev = this.running.get(trans.gid);
    const run = (prev ?? Promise.resolve(null))
      .catch(() => null)
      .then(() => {
        this.holders.set(trans.gid, trans.owner);
        return this.closing ? this.handBack(trans) : this.runPass(trans, branches);
      })
      .catch((err: unknown) => {
        this.logger.error({ err, gid: trans.gid }, "pass could not be written; the transaction is retried");
        return null;
      })
      .finally(() => {
        if (this.running.get(trans.gid) === run) {
          this.running.delete(trans.gid);
          this.holders.delete(trans.gid);
        }
      });
    this.running.set(trans.gid, run);
    return run;
  }

  /** The pass budget of one phase: dtm's request timeout + 2 s (`null`: the server's timeout). */
  private budget(options: TransOptions | null): number {
    return (options?.requestTimeoutMs || this.settings.requestTimeoutMs) + 2000;
  }

  /**
   * How long a pass may hold a transaction: the lease, or two phase budgets if longer. Claims take
   * the lease a pass with the server's request timeout needs; longer ones are extended at pass start.
   */
  private leaseFor(options: TransOptions | null): number {
    return Math.max(this.settings.leaseMs, 2 * this.budget(options) + 1000);
  }

  private async runPass(trans: TransRecord, branches: BranchRecord[]): Promise<TransRecord | null> {
    const log = this.logger.child({ gid: trans.gid });
    const until = this.clock.nowMs() + this.leaseFor(trans.options);
    // a long branch timeout: a claim's lease (recovery.lease) is too short for this pass; extend it
    // so nobody takes the transaction mid-pass (a submit's insert already leased it long enough)
    if ((trans.nextCronTime?.getTime() ?? 0) < until - LEASE_SLACK_MS) {
      if (!(await sql.setLease(this.store.db, trans.gid, trans.owner, new Date(until)))) return null;
    }
    const pass = new Pass(
      trans,
      branches,
      this.caller,
      this.clock,
      this.settings,
      log,
      this.budget(trans.options),
      (p) => this.write(p, false),
    );
    try {
      await transTypeModule(trans.transType).runPass(pass);
    } catch (err) {
      if (err instanceof PassLost) {
        log.warn("pass stopped: another coordinator holds the transaction");
        return null;
      }
      log.error({ err }, "pass failed");
      pass.observe("error");
    }
    if (!(await this.write(pass, true))) {
      log.warn({ status: trans.status }, "pass outcome not written: the transaction changed meanwhile");
      return null;
    }
    return trans;
  }

  /**
   * Writes a pass's progress: at its end (`last`) with the next due time from the retry rules and the
   * lease freed; as a checkpoint with the lease kept.
   */
  private async write(pass: Pass, last: boolean): Promise<boolean> {
    const trans = pass.trans;
    const now = this.clock.now();
    const final = isFinal(trans.status);
    const interval = final || !last ? trans.nextCronIntervalMs : pass.intervalMs;
    const nextCronTime = final
      ? null
      : new Date(now.getTime() + (last ? interval : this.leaseFor(trans.options)));
    const saved = await this.writer.savePass({
      gid: trans.gid,
      owner: trans.owner,
      ownerAfter: last ? "" : trans.owner,
      fromStatus: pass.storedStatus,
      toStatus: trans.status,
      rollbackReason: trans.rollbackReason,
      now,
      nextCronTime,
      nextCronIntervalMs: interval,
      branches: pass.changedBranches().map((b) => ({ id: b.id, status: b.status })),
    });
    if (saved) {
      trans.updateTime = now;
      trans.nextCronTime = nextCronTime;
      trans.nextCronIntervalMs = interval;
      if (last) trans.owner = "";
      if (trans.status === "succeed") trans.finishTime ??= now;
      if (trans.status === "failed") trans.rollbackTime ??= now;
    }
    return saved;
  }

  /** Stopping: a claimed pass that has not started hands its transaction back at once. */
  private async handBack(trans: TransRecord): Promise<null> {
    await sql.setLease(this.store.db, trans.gid, trans.owner, this.clock.now());
    return null;
  }

  /**
   * Claims up to `limit` due transactions (next_cron_time ≤ now + lookAheadMs) and starts a pass for
   * each; `passes` settle when each has been written.
   */
  async claimAndDrive(
    limit: number,
    lookAheadMs = 0,
  ): Promise<{ gids: string[]; passes: Promise<unknown>[] }> {
    if (this.closing || limit <= 0) return { gids: [], passes: [] };
    const now = this.clock.now();
    const claimed = await sql.claimDue(
      this.store.db,
      this.newOwner(),
      now,
      new Date(now.getTime() + lookAheadMs),
      new Date(now.getTime() + this.leaseFor(null)),
      limit,
    );
    if (claimed.length === 0) return { gids: [], passes: [] };
    const byGid = new Map<string, BranchRecord[]>(claimed.map((t) => [t.gid, []]));
    for (const b of await sql.findBranches(
      this.store.db,
      claimed.map((t) => t.gid),
    )) {
      byGid.get(b.gid)!.push(b);
    }
    const passes = claimed.map((t) => this.drive(t, byGid.get(t.gid)!));
    return { gids: claimed.map((t) => t.gid), passes };
  }

  /** One claim of due transactions, waiting for their passes (tests and operators: "run the cron once"). */
  async recoverOnce(limit: number, lookAheadMs = 0): Promise<string[]> {
    const { gids, passes } = await this.claimAndDrive(limit, lookAheadMs);
    await Promise.allSettled(passes);
    return gids;
  }

  /** Resolves when no pass of `gid` (or of any gid) is running in this process. */
  async settled(gid?: string): Promise<void> {
    for (;;) {
      const pending = gid ? [this.running.get(gid)] : [...this.running.values()];
      const live = pending.filter((p): p is Promise<TransRecord | null> => p !== undefined);
      if (live.length === 0) return;
      await Promise.allSettled(live);
    }
  }

  /** Passes running now. */
  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Stops taking new work and waits up to `timeoutMs` for running passes; the transactions of
   * passes still running then are made due again so another coordinator takes them at once.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closing = true;
    const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), timeoutMs).unref());
    if ((await Promise.race([this.settled().then(() => "done" as const), timer])) === "timeout") {
      this.logger.warn({ inFlight: this.running.size }, "releasing leases of unfinished passes");
      const now = this.clock.now();
      await Promise.all(
        [...this.holders].map(([gid, owner]) =>
          sql
            .setLease(this.store.db, gid, owner, now)
            .catch((err: unknown) => this.logger.error({ err, gid }, "release failed")),
        ),
      );
    }
  }

  private newOwner(): string {
    return `${this.processId}-${++this.ownerSeq}`;
  }
}
