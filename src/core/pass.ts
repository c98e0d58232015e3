import type { Logger } from "pino";
import type { BranchCaller } from "../branch/caller";
import type { BranchResult } from "../branch/result";
import type { Clock } from "./clock";
import type { BranchRecord, BranchStatus, TransRecord, TransStatus } from "./model";
import { baseInterval, nextInterval, type CallOutcome, type RetrySettings } from "./retry-policy";

/** Server settings a pass needs. */
export interface PassSettings {
  retry: RetrySettings;
  requestTimeoutMs: number;
  /** Default timeout of every kind but saga. */
  timeoutToFailMs: number;
}

/**
 * One processing pass over one transaction. Progress stays in memory (branch statuses, the global
 * status, the rollback reason) and is written once at the end by the engine; a crash re-runs the
 * pass from the last written state, which at-least-once branches allow.
 */
export class Pass {
  /** The stored global status: the compare-and-set of the next write. */
  storedStatus: TransStatus;
  /** Process time (Date.now()) after which the pass stops waiting for branches. */
  private deadline: number;
  /** The retry interval as the pass's answers have moved it (retry-policy.ts). */
  intervalMs: number;
  private readonly changed = new Set<BranchRecord>();

  constructor(
    readonly trans: TransRecord,
    readonly branches: BranchRecord[],
    private readonly caller: BranchCaller,
    private readonly clock: Clock,
    private readonly settings: PassSettings,
    readonly logger: Logger,
    /** How long one phase of the pass may wait for branches (dtm: request timeout + 2 s). */
    private readonly budgetMs: number,
    /** Writes the pass's progress so far (compare-and-set on `storedStatus`); false when it lost. */
    private readonly persist: (pass: Pass) => Promise<boolean>,
  ) {
    this.storedStatus = trans.status;
    this.intervalMs = trans.nextCronIntervalMs;
    this.deadline = Date.now() + budgetMs;
  }

  /**
   * Writes the status reached so far before the pass goes on, so that what follows can never be
   * undone by a re-run from older state (a saga is written `aborting` before any compensation).
   * Throws PassLost when another owner holds the transaction now.
   */
  async checkpoint(): Promise<void> {
    if (!(await this.persist(this))) throw new PassLost(this.trans.gid);
    this.storedStatus = this.trans.status;
    this.changed.clear();
  }

  /** Starts a new phase with a full budget (the compensations after a failed forward phase). */
  renewBudget(): void {
    this.deadline = Math.max(this.deadline, Date.now() + this.budgetMs);
  }

  /**
   * Calls one branch operation. `failureIsFinal` marks the calls where FAILURE is an answer (a saga
   * action); anywhere else FAILURE is retried like an error.
   */
  async call(branch: BranchRecord, failureIsFinal: boolean): Promise<BranchResult> {
    const t = this.trans;
    const result = await this.caller.call(t.protocol, {
      url: branch.url,
      gid: t.gid,
      transType: t.transType,
      branchId: branch.branchId,
      op: branch.op,
      payload: branch.payload,
      headers: t.options.branchHeaders,
      timeoutMs: t.options.requestTimeoutMs || this.settings.requestTimeoutMs,
    });
    const seen: CallOutcome =
      result.outcome === "SUCCESS" || (result.outcome === "FAILURE" && failureIsFinal)
        ? "progress"
        : result.outcome === "ONGOING"
          ? "ongoing"
          : "error";
    this.observe(seen);
    if (result.outcome !== "SUCCESS") {
      this.logger.debug({ branchId: branch.branchId, op: branch.op, result }, "branch did not succeed");
    }
    return result;
  }

  /** Moves the retry interval by one call's outcome (also used for a pass that failed outright). */
  observe(outcome: CallOutcome): void {
    const base = baseInterval(this.settings.retry, this.trans.options);
    this.intervalMs = nextInterval(outcome, this.intervalMs, base, this.settings.retry.maxIntervalMs);
  }

  /** Records a branch's new status (written at the end of the pass). */
  setBranchStatus(branch: BranchRecord, status: BranchStatus): void {
    branch.status = status;
    this.changed.add(branch);
  }

  /** Moves the global status (written at the end of the pass, compare-and-set on `storedStatus`). */
  setStatus(status: TransStatus, rollbackReason = ""): void {
    this.trans.status = status;
    if (rollbackReason) this.trans.rollbackReason = rollbackReason;
  }

  /** Branches whose status changed in this pass. */
  changedBranches(): BranchRecord[] {
    return [...this.changed];
  }

  /** Whether the transaction is older than its timeout (`kindDefault`: apply the server default when unset). */
  timedOut(kindDefault: boolean): boolean {
    const limit = this.trans.options.timeoutToFailMs || (kindDefault ? this.settings.timeoutToFailMs : 0);
    return limit > 0 && this.clock.nowMs() - this.trans.createTime.getTime() >= limit;
  }

  /** Milliseconds left of the pass budget. */
  remainingMs(): number {
    return this.deadline - Date.now();
  }
}

/** The pass's transaction is held by another owner now: the pass must stop without writing. */
export class PassLost extends Error {
  constructor(gid: string) {
    super(`transaction ${gid} is held by another owner`);
    this.name = "PassLost";
  }
}
