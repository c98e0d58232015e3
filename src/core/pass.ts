import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import type { BranchCaller, BranchResult } from "./branch-caller";
import type { Clock } from "./clock";
import type { BranchRecord, BranchStatus, TransRecord, TransStatus } from "./model";
import { retryCount, type AlertSink } from "./alerts";
import { warnNewFailure } from "./failure-warning";
import { baseInterval, nextInterval, type CallOutcome, type RetrySettings } from "./retry-policy";

/** Server settings a pass needs. */
export interface PassSettings {
  retry: RetrySettings;
  requestTimeoutMs: number;
  /** Default timeout of every kind but saga. */
  timeoutToFailMs: number;
  /** An error whose retry count reaches this is alerted (dtm's AlertRetryLimit); 0: never. */
  alertRetryLimit?: number;
}

/** What a pass works with besides its transaction: the ports, the clock and the engine's hooks. */
export interface PassContext {
  caller: BranchCaller;
  clock: Clock;
  settings: PassSettings;
  logger: Logger;
  /** How long one phase of the pass may wait for branches (dtm: request timeout + 2 s). */
  budgetMs: number;
  /** Writes the pass's progress so far (compare-and-set on `storedStatus`); false when it lost. */
  persist: (pass: Pass) => Promise<boolean>;
  /** Reads the transaction's branch rows as stored now. */
  loadBranches: () => Promise<BranchRecord[]>;
  /** Where alerts of repeated errors go (the alert webhook); absent: nowhere. */
  alert?: AlertSink;
  /** When the lease the pass holds ends (clock ms), and how long a write renews it for. */
  lease: { endsAt: number; renewMs: number };
}

/** A pass this close to the end of its lease (or past it) writes before it goes forward. */
const FENCE_MARGIN_MS = 2000;

/** A call of a URL that is no branch row: a msg check-back (`00`/`msg`), a workflow resume (`00`/`<name>`). */
export interface UrlCall {
  url: string;
  branchId: string;
  op: string;
  payload: Buffer;
  /** FAILURE is an answer here (see `Pass.call`). */
  failureIsFinal?: boolean;
  /** POST even with an empty body (XA phase 2). */
  forcePost?: boolean;
}

/**
 * One processing pass over one transaction: what a kind's `runPass` works with. Progress stays in
 * memory (branch statuses, the global status, the rollback reason) and is written once at the end
 * by the engine; a crash re-runs the pass from the last written state, which at-least-once branches
 * allow.
 */
export class Pass {
  /** The stored global status: the compare-and-set of the next write. */
  storedStatus: TransStatus;
  /** The transaction's branch rows (re-read by `reloadBranches`). */
  branches: BranchRecord[];
  /** The retry interval as the pass's answers have moved it (retry-policy.ts). */
  intervalMs: number;
  /** The next look the pass asked for (`scheduleAt`); null: after `intervalMs`. */
  nextLookAt: Date | null = null;
  /** Process time (Date.now()) after which the pass stops waiting for branches. */
  private deadline: number;
  /** Whether a call erred (or the pass failed outright) during this pass. */
  erred = false;
  /** Set by `stop`: no further branch call. */
  private stopped = false;
  /** Rows this pass changed or called since its last write, with the number of calls. */
  private readonly touched = new Map<BranchRecord, number>();

  constructor(
    readonly trans: TransRecord,
    branches: BranchRecord[],
    private readonly ctx: PassContext,
  ) {
    this.branches = branches;
    this.storedStatus = trans.status;
    this.intervalMs = trans.nextCronIntervalMs;
    this.deadline = Date.now() + ctx.budgetMs;
  }

  /** The pass's logger (scoped to the gid). */
  get logger(): Logger {
    return this.ctx.logger;
  }

  /**
   * Writes the status reached so far before the pass goes on, so that what follows can never be
   * undone by a re-run from older state (a saga is written `aborting` before any compensation).
   * Throws PassLost when another owner holds the transaction now.
   */
  async checkpoint(): Promise<void> {
    // what the write carries; calls answered while it is on its way stay to be written
    const written = new Map(this.touched);
    const at = this.ctx.clock.nowMs();
    if (!(await this.ctx.persist(this))) throw new PassLost(this.trans.gid);
    this.ctx.lease.endsAt = at + this.ctx.lease.renewMs; // the write renewed the lease
    this.storedStatus = this.trans.status;
    for (const [branch, calls] of written) {
      const now = this.touched.get(branch) ?? calls;
      if (now === calls) this.touched.delete(branch);
      else this.touched.set(branch, now - calls);
    }
  }

  /**
   * Before the pass goes forward from progress it has not written (a saga step unlocked by a success
   * in this pass): when its lease may have run out — a call hung — another coordinator may hold the
   * transaction now, and go on from what the store says; so the progress is written first (a
   * checkpoint: compare-and-set on the lease's owner, renewing the lease). Throws PassLost when the
   * transaction is held by another owner: the pass must stop. Within its lease, nothing to do.
   */
  async fence(): Promise<void> {
    if (this.ctx.clock.nowMs() >= this.ctx.lease.endsAt - FENCE_MARGIN_MS) await this.checkpoint();
  }

  /**
   * Re-reads the branch rows, after a checkpoint: a branch registered between the claim and the
   * checkpoint is then part of the pass (a registration locks the row in `prepared`, so it either
   * committed before the checkpoint or was refused). Statuses changed since the checkpoint stay.
   */
  async reloadBranches(): Promise<void> {
    const fresh = await this.ctx.loadBranches();
    const mine = new Map([...this.touched].map(([b, calls]) => [b.id, { b, calls }]));
    this.touched.clear();
    this.branches = fresh.map((b) => {
      const touched = mine.get(b.id);
      if (touched) this.touched.set(touched.b, touched.calls);
      return touched?.b ?? b;
    });
  }

  /** Starts a new phase with a full budget (the compensations after a failed forward phase). */
  renewBudget(): void {
    if (this.stopped) return;
    this.deadline = Math.max(this.deadline, Date.now() + this.ctx.budgetMs);
  }

  /**
   * Calls one branch operation. `failureIsFinal` marks the calls where FAILURE is an answer (a saga
   * action); anywhere else FAILURE is retried like an error. The row keeps the call: its attempts and
   * last answer are written with the pass (an empty URL is no call).
   */
  async call(
    branch: BranchRecord,
    opts: { failureIsFinal: boolean; forcePost?: boolean },
  ): Promise<BranchResult> {
    const { url, branchId, op, payload } = branch;
    if (this.stopped || url === "") return this.callUrl({ url, branchId, op, payload, ...opts });
    const at = this.ctx.clock.now();
    const result = await this.callUrl({ url, branchId, op, payload, ...opts });
    const previous = branch.lastAnswer;
    branch.attempts++;
    branch.lastAnswer = { outcome: result.outcome, code: result.code ?? "", text: result.detail, at };
    this.touched.set(branch, (this.touched.get(branch) ?? 0) + 1);
    if (result.outcome === "ERROR" || result.outcome === "FAILURE")
      warnNewFailure(this.logger, this.trans.gid, branch, previous);
    return result;
  }

  /**
   * Stops the pass (a force-stop failed its transaction): every later call answers an error
   * without calling, and the budget is spent, so the kind's loops end at once.
   */
  stop(): void {
    this.stopped = true;
    this.deadline = 0;
  }

  /** Calls a URL that is no branch row; the answer moves the retry interval as a branch's would. */
  async callUrl(c: UrlCall): Promise<BranchResult> {
    if (this.stopped) return { outcome: "ERROR", detail: "the transaction was force-stopped" };
    const t = this.trans;
    const result = await this.ctx.caller.call(t.protocol, {
      url: c.url,
      gid: t.gid,
      transType: t.transType,
      branchId: c.branchId,
      op: c.op,
      payload: c.payload,
      headers: t.options.branchHeaders,
      timeoutMs: t.options.requestTimeoutMs || this.ctx.settings.requestTimeoutMs,
      forcePost: c.forcePost,
    });
    const seen: CallOutcome =
      result.outcome === "SUCCESS" || (result.outcome === "FAILURE" && c.failureIsFinal === true)
        ? "progress"
        : result.outcome === "ONGOING"
          ? "ongoing"
          : "error";
    this.observe(seen);
    if (result.outcome !== "SUCCESS") {
      const { branchId, op, url } = c;
      this.logger.debug(
        { branchId, op, url, headers: t.options.branchHeaders, result },
        "branch did not succeed",
      );
    }
    if (seen === "error") this.alertIfRepeated(c, result);
    return result;
  }

  /** After an error: alerts once the interval has doubled `alertRetryLimit` times (dtm's rule). */
  private alertIfRepeated(c: UrlCall, result: BranchResult): void {
    const limit = this.ctx.settings.alertRetryLimit ?? 0;
    const count = retryCount(this.intervalMs, this.baseIntervalMs());
    if (!this.ctx.alert || limit <= 0 || count < limit) return;
    const t = this.trans;
    const error = result.code ? `${result.code}: ${result.detail}` : result.detail;
    this.ctx.alert({
      gid: t.gid,
      status: t.status,
      url: c.url,
      branchId: c.branchId,
      op: c.op,
      error,
      retryCount: count,
    });
  }

  /** Moves the retry interval by one call's outcome (also used for a pass that failed outright). */
  observe(outcome: CallOutcome): void {
    if (outcome === "error") this.erred = true;
    this.intervalMs = nextInterval(
      outcome,
      this.intervalMs,
      this.baseIntervalMs(),
      this.ctx.settings.retry.maxIntervalMs,
    );
  }

  /**
   * Waits before an in-pass retry (saga `retry_limit`). The `retriesLeft` retries still allowed are
   * spread evenly over what is left of the pass budget — one share kept for the last call — and
   * never further apart than the retry interval; so the limit is still decided within the pass, as
   * dtm decides it, without calling a failing branch back to back. False when the budget is spent.
   */
  async waitBetweenRetries(retriesLeft: number): Promise<boolean> {
    const remaining = this.remainingMs();
    if (remaining <= 0) return false;
    await sleep(Math.min(this.baseIntervalMs(), remaining / (Math.max(retriesLeft, 0) + 1)));
    return this.remainingMs() > 0;
  }

  /** The next look at this transaction at `at` instead of after the retry interval (msg `delay`). */
  scheduleAt(at: Date): void {
    this.nextLookAt = at;
  }

  /** Records a branch's new status (written at the end of the pass). */
  setBranchStatus(branch: BranchRecord, status: BranchStatus): void {
    branch.status = status;
    this.touched.set(branch, this.touched.get(branch) ?? 0);
  }

  /** Moves the global status (written at the end of the pass, compare-and-set on `storedStatus`). */
  setStatus(status: TransStatus, rollbackReason = ""): void {
    this.trans.status = status;
    if (rollbackReason) this.trans.rollbackReason = rollbackReason;
  }

  /** Rows whose status changed or that were called since the last write, with their calls since. */
  touchedBranches(): Array<{ branch: BranchRecord; calls: number }> {
    return [...this.touched].map(([branch, calls]) => ({ branch, calls }));
  }

  /** Whether the transaction is older than its timeout (`kindDefault`: apply the server default when unset). */
  timedOut(kindDefault: boolean): boolean {
    const limit = this.timeoutMs(kindDefault);
    return limit > 0 && this.ctx.clock.nowMs() - this.trans.createTime.getTime() >= limit;
  }

  /** When the transaction times out (`kindDefault`: apply the server default when unset); null: never. */
  timeoutAt(kindDefault: boolean): Date | null {
    const limit = this.timeoutMs(kindDefault);
    return limit > 0 ? new Date(this.trans.createTime.getTime() + limit) : null;
  }

  /** The timeout that applies: the transaction's own, else (`kindDefault`) the server's; 0: none. */
  timeoutMs(kindDefault: boolean): number {
    return this.trans.options.timeoutToFailMs || (kindDefault ? this.ctx.settings.timeoutToFailMs : 0);
  }

  /** The rollback reason of a timeout, dtm's words: `Timeout after <N> seconds`, N the timeout that applied. */
  timeoutReason(kindDefault: boolean): string {
    return `Timeout after ${Math.round(this.timeoutMs(kindDefault) / 1000)} seconds`;
  }

  /** The current (database) time. */
  now(): Date {
    return this.ctx.clock.now();
  }

  /** Milliseconds left of the pass budget. */
  remainingMs(): number {
    return this.deadline - Date.now();
  }

  private baseIntervalMs(): number {
    return baseInterval(this.ctx.settings.retry, this.trans.options);
  }
}

/** The pass's transaction is held by another owner now: the pass must stop without writing. */
export class PassLost extends Error {
  constructor(gid: string) {
    super(`transaction ${gid} is held by another owner`);
    this.name = "PassLost";
  }
}
