import type { Logger } from "pino";
import type { AlertSink } from "./alerts";
import type { BranchCaller } from "./branch-caller";
import type { Clock } from "./clock";
import { newGid } from "./gid";
import { isFinal, type BranchRecord, type TransOptions, type TransRecord } from "./model";
import { Pass, PassLost } from "./pass";
import type { PassObserver } from "./observer";
import { coreTracer, passParentContext } from "./trace-context";
import type { KindRegistry } from "./registry";
import { kindOf } from "./registry";
import type { TransRepository } from "./repository";
import type { RetrySettings } from "./retry-policy";

/** How far a lease may fall short of a pass's need before it is extended (covers the time since it was taken). */
const LEASE_SLACK_MS = 1000;

/** Server settings of passes and leases (ms). */
export interface DriverSettings {
  retry: RetrySettings;
  requestTimeoutMs: number;
  /** Default timeout of every kind but saga. */
  timeoutToFailMs: number;
  /** How long a claim or a submit holds a transaction against other coordinators. */
  leaseMs: number;
  /** An error whose retry count reaches this is alerted (dtm's AlertRetryLimit); 0 or absent: never. */
  alertRetryLimit?: number;
  /**
   * Whose passes these are: the coordinator's id and a tag of this driver, so two drivers of one
   * coordinator (its main thread and its recovery thread) hand out distinct tokens of the same id.
   * Absent: a fresh id, no tag.
   */
  identity?: { coordinatorId: string; tag: string };
}

/**
 * Runs passes: one at a time per gid in this process, each under a lease whose owner token decides,
 * across processes, which pass may write. A pass's outcome is written once at its end (a
 * compare-and-set on status and owner) with the next look from the retry rules, freeing the lease.
 */
export class Driver {
  private readonly running = new Map<string, Promise<TransRecord | null>>();
  /** The owner token each running pass holds, to hand leases back on a forced stop. */
  private readonly holders = new Map<string, string>();
  /** The pass each running gid is in, to stop it on a force-stop. */
  private readonly passes = new Map<string, Pass>();
  private readonly processId: string;
  private readonly ownerTag: string;
  private ownerSeq = 0;
  private closing = false;

  /** How many passes this process runs now. */
  get runningPasses(): number {
    return this.running.size;
  }

  constructor(
    private readonly repository: TransRepository,
    private readonly caller: BranchCaller,
    private readonly clock: Clock,
    private readonly settings: DriverSettings,
    private readonly kinds: KindRegistry,
    private readonly logger: Logger,
    private readonly alert?: AlertSink,
    private readonly observer?: PassObserver,
  ) {
    this.processId = settings.identity?.coordinatorId ?? newGid().slice(0, 8);
    this.ownerTag = settings.identity?.tag ?? "";
  }

  /** This coordinator's id: the first part of every owner token it hands out (`<id>-<tag><n>`). */
  get coordinatorId(): string {
    return this.processId;
  }

  /** A fresh owner token: a lease taken with it makes every older holder's write lose. */
  newOwner(): string {
    return `${this.processId}-${this.ownerTag}${++this.ownerSeq}`;
  }

  /** The pass budget of one phase: dtm's request timeout + 2 s (`null`: the server's timeout). */
  budget(options: TransOptions | null): number {
    return (options?.requestTimeoutMs || this.settings.requestTimeoutMs) + 2000;
  }

  /**
   * How long a pass may hold a transaction: the lease, or two phase budgets if longer. Claims take
   * the lease a pass with the server's request timeout needs; longer ones are extended at pass start.
   */
  leaseFor(options: TransOptions | null): number {
    return Math.max(this.settings.leaseMs, 2 * this.budget(options) + 1000);
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
          this.passes.delete(trans.gid);
        }
      });
    this.running.set(trans.gid, run);
    return run;
  }

  /**
   * A pass in a span of its own: a child of the request being served (a submit's first pass), else of
   * the request that created the transaction (its stored trace context), so a recovery pass joins the
   * submitting trace.
   */
  private runPass(trans: TransRecord, branches: BranchRecord[]): Promise<TransRecord | null> {
    const attributes = { "dtx.gid": trans.gid, "dtx.kind": trans.transType, "dtx.status.from": trans.status };
    const parent = passParentContext(trans.traceContext ?? "");
    return coreTracer.startActiveSpan(`pass ${trans.transType}`, { attributes }, parent, async (span) => {
      try {
        const written = await this.runPassSpanned(trans, branches);
        span.setAttribute("dtx.status.to", trans.status);
        if (!written) span.setAttribute("dtx.written", false);
        return written;
      } finally {
        span.end();
      }
    });
  }

  private async runPassSpanned(trans: TransRecord, branches: BranchRecord[]): Promise<TransRecord | null> {
    const log = this.logger.child({ gid: trans.gid });
    const until = this.clock.nowMs() + this.leaseFor(trans.options);
    // a long branch timeout: a claim's lease (recovery.lease) is too short for this pass; extend it
    // so nobody takes the transaction mid-pass (a submit's insert already leased it long enough)
    let leaseEnd = trans.nextCronTime?.getTime() ?? 0;
    if (leaseEnd < until - LEASE_SLACK_MS) {
      if (!(await this.repository.setLease(trans.gid, trans.owner, new Date(until)))) return null;
      leaseEnd = until;
    }
    const pass = new Pass(trans, branches, {
      caller: this.caller,
      clock: this.clock,
      settings: this.settings,
      logger: log,
      budgetMs: this.budget(trans.options),
      persist: (p) => this.write(p, false),
      loadBranches: () => this.repository.findBranches([trans.gid]),
      alert: this.alert,
      lease: { endsAt: leaseEnd, renewMs: this.leaseFor(trans.options) },
    });
    this.passes.set(trans.gid, pass);
    try {
      await kindOf(this.kinds, trans.transType).runPass(pass);
    } catch (err) {
      if (err instanceof PassLost) {
        log.warn("pass stopped: another coordinator holds the transaction");
        return null;
      }
      log.error({ err }, "pass failed");
      pass.observe("error");
    }
    this.observer?.passEnded(trans, { erred: pass.erred });
    if (!(await this.write(pass, true))) {
      // another coordinator, a force-stop or the client (a workflow ended by its submit) won
      log.info({ status: trans.status }, "pass outcome not written: the transaction changed meanwhile");
      return null;
    }
    return trans;
  }

  /**
   * Writes a pass's progress: at its end (`last`) with the next look — the time the pass asked for,
   * else after the interval the retry rules left — and the lease freed; as a checkpoint with the
   * lease kept.
   */
  private async write(pass: Pass, last: boolean): Promise<boolean> {
    const trans = pass.trans;
    const now = this.clock.now();
    const final = isFinal(trans.status);
    const interval = final || !last ? trans.nextCronIntervalMs : pass.intervalMs;
    const nextCronTime = final
      ? null
      : !last
        ? new Date(now.getTime() + this.leaseFor(trans.options))
        : (pass.nextLookAt ?? new Date(now.getTime() + interval));
    const saved = await this.repository.savePass({
      gid: trans.gid,
      transType: trans.transType,
      owner: trans.owner,
      ownerAfter: last ? "" : trans.owner,
      fromStatus: pass.storedStatus,
      toStatus: trans.status,
      rollbackReason: trans.rollbackReason,
      now,
      nextCronTime,
      nextCronIntervalMs: interval,
      branches: pass.touchedBranches().map(({ branch, calls }) => ({
        id: branch.id,
        status: branch.status,
        calls,
        lastAnswer: calls > 0 ? branch.lastAnswer : null,
      })),
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

  /**
   * Stops this process's running pass of `gid` (a force-stop won its compare-and-set): the pass
   * makes no further branch call and ends; its write then loses.
   */
  stop(gid: string): void {
    this.passes.get(gid)?.stop();
  }

  /** Stopping: a claimed pass that has not started hands its transaction back at once. */
  private async handBack(trans: TransRecord): Promise<null> {
    await this.repository.setLease(trans.gid, trans.owner, this.clock.now());
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
    const claimed = await this.repository.claimDue({
      owner: this.newOwner(),
      now,
      dueBefore: new Date(now.getTime() + lookAheadMs),
      leaseUntil: new Date(now.getTime() + this.leaseFor(null)),
      limit,
    });
    const passes = claimed.map((c) => this.drive(c.trans, c.branches));
    return { gids: claimed.map((c) => c.trans.gid), passes };
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
      // another coordinator takes them at once: their passes make no further call
      for (const gid of this.holders.keys()) this.passes.get(gid)?.stop();
      await Promise.all(
        [...this.holders].map(([gid, owner]) =>
          this.repository
            .setLease(gid, owner, now)
            .catch((err: unknown) => this.logger.error({ err, gid }, "release failed")),
        ),
      );
    }
  }
}
