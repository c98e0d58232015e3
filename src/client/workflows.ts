import type { Coordinator } from "./coordinator";
import { BranchFailure, isBranchFailure } from "./errors";
import type { HttpBranchFunction } from "./http-branch";
import { payloadBytes, type Payload } from "./payload";
import { Workflow } from "./workflow";

/**
 * A workflow function: runs its steps through `wf`; what it returns is the workflow's result.
 *
 * @example
 * const transfer: WorkflowFunction = async (wf, input) => {
 *   const move = JSON.parse(input.toString());
 *   await wf.newBranch().call(`${bank}/TransIn`, move);
 * };
 */
export type WorkflowFunction = (wf: Workflow, input: Buffer) => Promise<Payload | void>;

/** Options of one registered workflow. @example workflows.register("transfer", fn, { compensateFailedBranch: true }) */
export interface WorkflowOptions {
  /**
   * Also roll back the branch whose own action failed (for a branch that may have acted although it
   * answered FAILURE, e.g. after a timeout). Default false: only the branches before it.
   */
  compensateFailedBranch?: boolean;
}

interface Registered {
  fn: WorkflowFunction;
  options: WorkflowOptions;
}

/**
 * Code-first workflows (dtm's): named workflow functions, run by gid. The coordinator records each
 * step's outcome and the workflow's result; a workflow that did not finish (a step answered ONGOING
 * or an error, the process crashed) is resumed by the coordinator through `callback` — an HTTP route
 * served with {@link Workflows.resumeHandler} — and replays without re-running its recorded steps.
 *
 * @example
 * const workflows = dtx.workflows("http://127.0.0.1:8081/api/workflow/resume");
 * workflows.register("transfer", async (wf, input) => { … });
 * http.createServer(httpBranchRoutes({ "/api/workflow/resume": workflows.resumeHandler() }));
 * const result = await workflows.execute("transfer", gid, JSON.stringify({ from: "alice", to: "bob", amount: 30 }));
 */
export class Workflows {
  private readonly registered = new Map<string, Registered>();

  /** @internal use {@link Coordinator.workflows} */
  constructor(
    private readonly coordinator: Coordinator,
    /** The URL the coordinator resumes unfinished workflows at. */
    readonly callback: string,
  ) {
    if (!/^https?:\/\//.test(callback)) {
      throw new TypeError(`callback: ${JSON.stringify(callback)} is not an http(s) URL`);
    }
  }

  /**
   * Registers a workflow function under `name` (every process that may resume it registers it).
   *
   * @example
   * workflows.register("transfer", async (wf, input) => { await wf.newBranch().call(url, input); });
   */
  register(name: string, fn: WorkflowFunction, options: WorkflowOptions = {}): this {
    if (name === "" || this.registered.has(name)) {
      throw new TypeError(`name: ${JSON.stringify(name)} is empty or registered already`);
    }
    this.registered.set(name, { fn, options });
    return this;
  }

  /**
   * Runs workflow `name` as `gid`, or resumes it: a finished workflow answers its stored result (or
   * its failure) without running. Resolves with the result; throws {@link BranchFailure} with the
   * reason when the workflow failed (its rollbacks ran), and any other error when it did not finish
   * (the coordinator resumes it later).
   *
   * @example
   * const result = await workflows.execute("transfer", "transfer-1", { from: "alice", to: "bob", amount: 30 });
   */
  async execute(name: string, gid: string, input?: Payload): Promise<Buffer> {
    const registered = this.registered.get(name);
    if (!registered) throw new TypeError(`name: no workflow ${JSON.stringify(name)} is registered`);
    const data = Buffer.from(payloadBytes(input));
    const request = {
      gid,
      transType: "workflow" as const,
      customData: JSON.stringify({ name, data: data.toString("base64") }),
      queryPrepared: this.callback,
      options: {},
    };
    const progress = await this.coordinator.transport.prepareWorkflow(request);
    if (progress.status === "succeed") return progress.result;
    if (progress.status === "failed") throw new BranchFailure(progress.rollbackReason);
    const wf = new Workflow(
      this.coordinator,
      gid,
      name,
      progress.steps,
      registered.options.compensateFailedBranch ?? false,
    );
    let result = Buffer.alloc(0);
    let failure: BranchFailure | undefined;
    try {
      result = Buffer.from(payloadBytes((await registered.fn(wf, data)) ?? undefined));
    } catch (err) {
      if (!isBranchFailure(err)) throw err; // unfinished: resumed later
      failure = err;
    }
    await wf.phase2(failure);
    await this.coordinator.transport.call("submit", {
      ...request,
      reqExtra: {
        status: failure ? "failed" : "succeed",
        rollback_reason: failure?.message ?? "",
        result: result.toString("base64"),
      },
    });
    if (failure) throw failure;
    return result;
  }

  /**
   * The branch function of the resume callback: the coordinator calls it with the workflow's gid,
   * its name as `op` and its input as the body; it runs {@link Workflows.execute}.
   *
   * @example
   * http.createServer(httpBranchRoutes({ "/api/workflow/resume": workflows.resumeHandler() }));
   */
  resumeHandler(): HttpBranchFunction {
    return async (call) => {
      await this.execute(call.ctx.op, call.ctx.gid, call.body);
    };
  }
}
