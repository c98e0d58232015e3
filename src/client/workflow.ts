import type { ClientBase } from "pg";
import { branchReply as reply, callBranch, type BranchReply } from "./branch-call";
import type { BranchContext } from "./branch-context";
import type { Coordinator } from "./coordinator";
import { BranchFailure, isBranchFailure } from "./errors";
import { payloadBytes, type Payload } from "./payload";
import type { WorkflowStep } from "./wire";
import type { XaResource } from "./xa-resource";

/**
 * A phase-2 function of a workflow branch (a compensation, a confirm, a cancel).
 *
 * @example const revert: WorkflowPhase2 = () => wf.call(`${bank}/TransOutRevert`, move);
 */
export type WorkflowPhase2 = (ctx: BranchContext) => Promise<unknown>;

interface Phase2Op {
  branchId: string;
  fn: WorkflowPhase2;
}

/**
 * One run of a code-first workflow, as its function sees it (dtm's workflow): each branch
 * (`newBranch()`, `01`, `02`, …) has at most one recorded action — a branch call (`call`), a local
 * step (`do`) or a local XA transaction (`doXa`) — and optionally a commit and a rollback. Each
 * outcome is recorded in the coordinator; a replay (after a crash or an ONGOING step) returns the
 * recorded outcomes instead of running the steps again. When the function resolves, the commits
 * run, last branch first; when a step fails for good, the rollbacks of the branches before it run,
 * last first (saga compensations, TCC cancels, XA rollbacks).
 *
 * @example
 * workflows.register("transfer", async (wf, input) => {
 *   const { from, to, amount } = JSON.parse(input.toString());
 *   await wf.newBranch().onRollback((ctx) => wf.call(`${bank}/TransOutRevert`, { user: from, amount }))
 *     .call(`${bank}/TransOut`, { user: from, amount });
 *   await wf.newBranch().call(`${bank}/TransIn`, { user: to, amount });
 * });
 */
export class Workflow {
  private seq = 0;
  private branchId = "";
  private op = "action";
  private actionAdded = false;
  private commitAdded = false;
  private rollbackAdded = false;
  private readonly commits: Phase2Op[] = [];
  private readonly rollbacks: Phase2Op[] = [];
  private readonly progress: Map<string, WorkflowStep>;

  /** @internal use {@link Workflows.execute} */
  constructor(
    private readonly coordinator: Coordinator,
    /** The workflow's gid. */
    readonly gid: string,
    /** The workflow's name. */
    readonly name: string,
    steps: WorkflowStep[],
    private readonly compensateFailedBranch: boolean,
  ) {
    this.progress = new Map(steps.map((s) => [`${s.branchId}-${s.op}`, s]));
  }

  /** The current branch and op, as branch calls and phase-2 functions receive them. @example wf.ctx.branchId */
  get ctx(): BranchContext {
    return { gid: this.gid, transType: "workflow", branchId: this.branchId, op: this.op, dtm: "" };
  }

  /**
   * Starts the next branch (`01`, `02`, …).
   *
   * @example
   * await wf.newBranch().call(`${bank}/TransIn`, { user: "bob", amount: 30 });
   */
  newBranch(): this {
    if (this.op !== "action")
      throw new Error(`workflow ${this.gid}: newBranch() inside a commit or rollback`);
    this.branchId = String(++this.seq).padStart(2, "0");
    this.actionAdded = this.commitAdded = this.rollbackAdded = false;
    return this;
  }

  /**
   * What undoes the current branch when the workflow fails: a saga compensation, a TCC cancel. Runs
   * at most once (recorded as op `rollback`). A branch whose own action failed is not rolled back
   * unless the workflow was registered with `compensateFailedBranch`.
   *
   * @example
   * wf.newBranch().onRollback(() => wf.call(`${bank}/TransOutRevert`, move)).call(`${bank}/TransOut`, move);
   */
  onRollback(fn: WorkflowPhase2): this {
    if (this.rollbackAdded)
      throw new Error(`workflow ${this.gid}: branch ${this.branchId} has a rollback already`);
    this.rollbackAdded = true;
    this.rollbacks.push({ branchId: this.branchId, fn });
    return this;
  }

  /**
   * What completes the current branch when the workflow succeeds: a TCC confirm. Runs at most once
   * (recorded as op `commit`).
   *
   * @example
   * wf.newBranch().onCommit(() => wf.call(`${bank}/TransInConfirm`, move)).call(`${bank}/TransInTry`, move);
   */
  onCommit(fn: WorkflowPhase2): this {
    if (this.commitAdded)
      throw new Error(`workflow ${this.gid}: branch ${this.branchId} has a commit already`);
    this.commitAdded = true;
    this.commits.push({ branchId: this.branchId, fn });
    return this;
  }

  /**
   * Calls a branch (an http(s) URL or `host:port/pkg.Service/Method`) with the workflow's gid,
   * `trans_type=workflow`, the current branch id and op. As the branch's action it is recorded: a
   * replay returns the recorded answer without calling. Throws {@link BranchFailure} when the
   * branch failed for good (recorded too), {@link BranchOngoing} or {@link BranchCallError}
   * otherwise (not recorded: the call is made again when the workflow is resumed).
   *
   * @example
   * const reply = await wf.newBranch().call(`${bank}/TransOut`, { user: "alice", amount: 30 });
   */
  async call(url: string, payload?: Payload): Promise<BranchReply> {
    const send = () =>
      callBranch(this.coordinator.channels, {
        url,
        gid: this.gid,
        transType: "workflow",
        branchId: this.branchId,
        op: this.op,
        dtm: this.coordinator.address,
        payload: payloadBytes(payload),
        headers: {},
        timeoutMs: this.coordinator.branchTimeoutMs,
      });
    if (this.op !== "action") return send(); // inside a commit or rollback, which is recorded itself
    return reply(await this.recorded(async () => (await send()).body));
  }

  /**
   * A local step of the current branch, recorded: `fn` runs once; its value (bytes, text or JSON)
   * is recorded and returned again on a replay. Throw {@link BranchFailure} to fail the workflow.
   *
   * @example
   * const order = await wf.newBranch().do(async () => ({ id: await createOrder() }));
   */
  async do(fn: (ctx: BranchContext) => Promise<Payload | void>): Promise<BranchReply> {
    return reply(await this.recorded(async () => payloadBytes((await fn(this.ctx)) ?? undefined)));
  }

  /**
   * A local XA transaction as the current branch: `fn` runs in a transaction of `resource`'s
   * Postgres database, which is prepared (`PREPARE TRANSACTION`) and committed when the workflow
   * succeeds, or rolled back when it fails. A workflow that crashed between the prepare and the
   * recording of the step fails (its prepared transaction is rolled back).
   *
   * @example
   * await wf.newBranch().doXa(xa, (tx) => tx.query("update account set balance = balance - 30 where name = 'alice'"));
   */
  async doXa(resource: XaResource, fn: (tx: ClientBase) => Promise<Payload | void>): Promise<BranchReply> {
    const branchId = this.branchId;
    const phase2: WorkflowPhase2 = (ctx) => resource.phase2({ ...ctx, branchId });
    const result = this.recorded(async () => {
      if (this.progress.has(`${branchId}-business`)) {
        throw new BranchFailure(
          `workflow ${this.gid}: branch ${branchId} stopped after its XA prepare; rolled back`,
        );
      }
      const ctx = { ...this.ctx, op: "action" };
      const value = await resource.prepareLocal(
        ctx,
        async (tx) => payloadBytes((await fn(tx)) ?? undefined),
        () => this.record(branchId, "business", "succeed", Buffer.alloc(0)),
      );
      return value ?? new Uint8Array(0);
    });
    try {
      return reply(await result);
    } finally {
      // added after the step: also a failed XA step is rolled back (a no-op unless it prepared)
      this.commits.push({ branchId, fn: phase2 });
      this.rollbacks.push({ branchId, fn: phase2 });
      this.commitAdded = this.rollbackAdded = true;
    }
  }

  /**
   * @internal Runs the commits (after success, `failure` undefined) or the rollbacks (after a
   * failure), last branch first, each recorded.
   */
  async phase2(failure: unknown): Promise<void> {
    this.op = failure === undefined ? "commit" : "rollback";
    const ops = failure === undefined ? this.commits : this.rollbacks;
    for (const { branchId, fn } of [...ops].reverse()) {
      this.branchId = branchId;
      await this.recorded(async () => {
        try {
          await fn(this.ctx);
        } catch (err) {
          // a phase-2 operation must not fail for good: it is retried until it succeeds
          if (isBranchFailure(err))
            throw new Error(`${this.op} of branch ${branchId} failed: ${err.message}`);
          throw err;
        }
        return new Uint8Array(0);
      });
    }
  }

  /**
   * Runs `fn` unless the current (branch, op) is recorded; records SUCCESS (`succeed`, its data) and
   * FAILURE (`failed`, the error text); ONGOING and errors are not recorded and propagate.
   */
  private async recorded(fn: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const branchId = this.branchId;
    const op = this.op;
    if (op === "action") {
      if (this.actionAdded) throw new Error(`workflow ${this.gid}: branch ${branchId} has an action already`);
      this.actionAdded = true;
    }
    let step = this.progress.get(`${branchId}-${op}`);
    if (!step) {
      try {
        step = { branchId, op, status: "succeed", data: Buffer.from(await fn()) };
      } catch (err) {
        if (!isBranchFailure(err)) throw err;
        step = { branchId, op, status: "failed", data: Buffer.from(err.message) };
      }
      await this.record(branchId, op, step.status, step.data);
    }
    if (step.status === "succeed") return step.data;
    const last = this.rollbacks.at(-1);
    if (!this.compensateFailedBranch && last?.branchId === branchId) this.rollbacks.pop();
    throw new BranchFailure(step.data.toString());
  }

  private async record(branchId: string, op: string, status: string, data: Buffer): Promise<void> {
    await this.coordinator.transport.registerBranch({
      gid: this.gid,
      transType: "workflow",
      branchId,
      data: { op, status },
      payload: data,
    });
    this.progress.set(`${branchId}-${op}`, { branchId, op, status, data });
  }
}
