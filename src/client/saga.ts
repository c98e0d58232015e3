import type { Coordinator } from "./coordinator";
import { wireOptions, type TransOptions, type WireOptions } from "./options";
import { payloadBytes, type Payload } from "./payload";

/**
 * Saga options: the common ones, plus `retryLimit` and `concurrent`.
 *
 * @example
 * dtx.saga({ waitResult: true, retryLimit: 3, timeoutToFail: "5m" });
 */
export interface SagaOptions extends TransOptions {
  /**
   * How many times the coordinator calls an action again within one pass when it answers neither
   * success nor FAILURE before it rolls the saga back. Default: no limit (retried until it answers).
   */
  retryLimit?: number;
  /**
   * Run the steps in parallel (each waits only for the steps it names in `after`). Default false:
   * one after the other. A saga with any `after` runs concurrently.
   */
  concurrent?: boolean;
}

/** A step named by its `name` or by its position (0 is the first `add`). @example { after: ["debit", 1] } */
export type StepRef = string | number;

/**
 * Options of one step.
 *
 * @example
 * saga.add(debit, undoDebit, payload, { name: "debit" });
 * saga.add(credit, undoCredit, payload, { after: ["debit"] });
 */
export interface StepOptions {
  /** A name other steps' `after` can refer to. */
  name?: string;
  /** Steps that must have succeeded before this one starts (earlier steps only). Makes the saga concurrent. */
  after?: StepRef[];
}

interface Step {
  action: string;
  compensate: string;
  payload: Uint8Array;
  name?: string;
  after: number[];
}

/**
 * A saga: steps of an action and its compensation. The coordinator runs the actions; if one fails
 * for good (FAILURE), it runs the compensations of the steps that ran, in reverse order. Branches are
 * called at least once: make them idempotent (see {@link Barrier}).
 *
 * @example
 * const dtx = Coordinator.http("http://localhost:36789");
 * const gid = await dtx
 *   .saga({ waitResult: true })
 *   .add(`${bank}/TransOut`, `${bank}/TransOutRevert`, { user: "alice", amount: 30 })
 *   .add(`${bank}/TransIn`, `${bank}/TransInRevert`, { user: "bob", amount: 30 })
 *   .submit();
 */
export class Saga {
  /** The global transaction id (the `gid` option, else a fresh one). */
  readonly gid: string;
  private readonly steps: Step[] = [];
  private readonly wire: WireOptions;

  /** @throws TypeError naming the option when an option is not valid */
  constructor(
    private readonly coordinator: Coordinator,
    private readonly options: SagaOptions = {},
  ) {
    this.gid = coordinator.gidOf(options);
    this.wire = wireOptions(options);
  }

  /**
   * Adds a step. An empty URL means "nothing to call" (a step without compensation).
   *
   * @example
   * saga.add(`${bank}/TransOut`, `${bank}/TransOutRevert`, { user: "alice", amount: 30 });
   * // concurrent: credit bob and carol in parallel, after the debit
   * saga.add(debit, undoDebit, d, { name: "debit" })
   *   .add(creditBob, undoBob, b, { after: ["debit"] })
   *   .add(creditCarol, undoCarol, c, { after: ["debit"] });
   */
  add(action: string, compensate: string, payload?: Payload, step: StepOptions = {}): this {
    const index = this.steps.length;
    if (step.name !== undefined && this.steps.some((s) => s.name === step.name)) {
      throw new TypeError(`saga step ${index}: the name ${JSON.stringify(step.name)} is taken`);
    }
    const after = (step.after ?? []).map((ref) => this.indexOf(ref, index));
    this.steps.push({ action, compensate, payload: payloadBytes(payload), name: step.name, after });
    return this;
  }

  /**
   * Submits the saga. Resolves with its gid once the coordinator has stored it (with `waitResult`:
   * once it succeeded); throws a {@link CoordinatorError} saying what the coordinator answered.
   *
   * @example
   * const gid = await saga.submit();
   */
  async submit(): Promise<string> {
    const concurrent = this.options.concurrent === true || this.steps.some((s) => s.after.length > 0);
    let customData: string | undefined;
    if (concurrent) {
      const orders: Record<string, number[]> = {};
      this.steps.forEach((s, i) => {
        if (s.after.length > 0) orders[String(i)] = s.after;
      });
      customData = JSON.stringify({ concurrent: true, orders });
    }
    await this.coordinator.transport.call("submit", {
      gid: this.gid,
      transType: "saga",
      steps: this.steps.map((s) => ({ action: s.action, compensate: s.compensate })),
      payloads: this.steps.map((s) => s.payload),
      customData,
      options: this.wire,
    });
    return this.gid;
  }

  private indexOf(ref: StepRef, before: number): number {
    const i = typeof ref === "number" ? ref : this.steps.findIndex((s) => s.name === ref);
    if (!Number.isInteger(i) || i < 0 || i >= before) {
      throw new TypeError(`saga step ${before}: after ${JSON.stringify(ref)} names no earlier step`);
    }
    return i;
  }
}
