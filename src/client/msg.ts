import type { ClientBase, Pool } from "pg";
import { Barrier, type BarrierOptions } from "./barrier";
import { callBranch } from "./branch-call";
import type { Coordinator } from "./coordinator";
import { toSeconds, type Duration } from "./duration";
import { isBranchFailure } from "./errors";
import { wireOptions, type TransOptions, type WireOptions } from "./options";
import { payloadBytes, type Payload } from "./payload";
import type { TransRequest } from "./wire";

/**
 * Message options: the common ones, plus `concurrent` and `delay`.
 *
 * @example
 * dtx.msg({ delay: "10s", timeoutToFail: "1m" });
 */
export interface MsgOptions extends TransOptions {
  /** Deliver the steps in parallel instead of one after the other (HTTP coordinator only). Default false. */
  concurrent?: boolean;
  /** Deliver no step before this long after the message was created (whole seconds). */
  delay?: Duration;
}

/**
 * A 2-phase message: steps the coordinator delivers (calls until they succeed — a message never
 * rolls back) once the message is submitted. With `prepare` first, a local transaction can decide
 * whether the message goes out; the coordinator asks the `queryPrepared` URL when neither submit
 * nor abort arrives in time.
 *
 * @example
 * const msg = dtx.msg().add(`${bank}/TransIn`, { user: "bob", amount: 30 });
 * await msg.doAndSubmit(`${bank}/QueryPrepared`, pool, (tx) => debit(tx, "alice", 30));
 */
export class Msg {
  /** The global transaction id (the `gid` option, else a fresh one). */
  readonly gid: string;
  private readonly steps: Array<{ action: string }> = [];
  private readonly payloads: Uint8Array[] = [];
  private readonly wire: WireOptions;
  private readonly delay: number | undefined;
  private queryPrepared: string | undefined;

  /** @throws TypeError naming the option when an option is not valid */
  constructor(
    private readonly coordinator: Coordinator,
    private readonly options: MsgOptions = {},
  ) {
    this.gid = coordinator.gidOf(options);
    this.wire = wireOptions(options);
    this.delay = options.delay === undefined ? undefined : toSeconds(options.delay, "delay");
  }

  /**
   * Adds a step: the URL to deliver to and its payload.
   *
   * @example
   * msg.add(`${bank}/TransIn`, { user: "bob", amount: 30 });
   */
  add(action: string, payload?: Payload): this {
    this.steps.push({ action });
    this.payloads.push(payloadBytes(payload));
    return this;
  }

  /**
   * Adds a step delivered to every subscriber of `topic` (subscribed on the coordinator).
   *
   * @example
   * msg.addTopic("transfers", { user: "bob", amount: 30 });
   */
  addTopic(topic: string, payload?: Payload): this {
    return this.add(`topic://${topic}`, payload);
  }

  /**
   * Stores the message as prepared: nothing is delivered until `submit`. The coordinator calls
   * `queryPrepared` (op `msg`, branch `00`) if neither submit nor abort comes within `timeoutToFail`.
   *
   * @example
   * await msg.prepare(`${bank}/QueryPrepared`);
   */
  async prepare(queryPrepared: string): Promise<void> {
    this.queryPrepared = queryPrepared;
    await this.coordinator.transport.call("prepare", this.request());
  }

  /**
   * Submits the message (prepared or not): the coordinator delivers every step.
   *
   * @example
   * await msg.submit();
   */
  async submit(): Promise<void> {
    const customData = this.delay ? JSON.stringify({ delay: this.delay }) : undefined;
    await this.coordinator.transport.call("submit", { ...this.request(), customData });
  }

  /**
   * Drops a prepared message: nothing will be delivered.
   *
   * @example
   * await msg.abort("the order was cancelled");
   */
  async abort(reason = ""): Promise<void> {
    await this.coordinator.transport.call("abort", { ...this.request(), rollbackReason: reason });
  }

  /**
   * Prepares the message, runs `business` in a transaction on `db` behind the barrier (branch `00`,
   * op `msg`), and submits: the message goes out if and only if the local transaction commits.
   * Answer the check-back at `queryPrepared` with {@link httpQueryPrepared} or
   * {@link connectQueryPrepared} on the same database.
   *
   * When `business` throws {@link BranchFailure}, the message is aborted and the error rethrown.
   * When it throws anything else, the outcome of the local transaction is asked at `queryPrepared`
   * (a commit may have happened although its answer was lost): rolled back → aborted; committed →
   * submitted; no answer → left to the coordinator's own check-back. The error is rethrown in every
   * case. {@link Duplicated} means the local transaction had already been decided (the check-back
   * came first, or this message ran before).
   *
   * @example
   * await dtx.msg().add(`${bank}/TransIn`, { user: "bob", amount: 30 })
   *   .doAndSubmit(`${bank}/QueryPrepared`, pool, (tx) => debit(tx, "alice", 30));
   */
  async doAndSubmit<R>(
    queryPrepared: string,
    db: Pool,
    business: (tx: ClientBase) => Promise<R>,
    options: BarrierOptions = {},
  ): Promise<R> {
    const barrier = new Barrier(
      { gid: this.gid, transType: "msg", branchId: "00", op: "msg", dtm: "" },
      options,
    );
    await this.prepare(queryPrepared);
    let result: R;
    try {
      result = (await barrier.call(db, business)) as R;
    } catch (err) {
      const outcome = isBranchFailure(err) ? "rolled back" : await this.checkBack(queryPrepared);
      // the business error is what the caller needs; should these requests fail, the coordinator's
      // own check-back settles the message the same way
      const reason = `the local transaction failed: ${(err as Error)?.message ?? err}`.slice(0, 1000);
      if (outcome === "rolled back") await this.abort(reason).catch(() => undefined);
      else if (outcome === "committed") await this.submit().catch(() => undefined);
      throw err;
    }
    await this.submit();
    return result;
  }

  private async checkBack(url: string): Promise<"committed" | "rolled back" | "unknown"> {
    try {
      await callBranch(this.coordinator.channels, {
        url,
        gid: this.gid,
        transType: "msg",
        branchId: "00",
        op: "msg",
        dtm: this.coordinator.address,
        payload: new Uint8Array(0),
        headers: this.wire.branchHeaders ?? {},
        timeoutMs: this.coordinator.branchTimeoutMs,
      });
      return "committed";
    } catch (err) {
      return isBranchFailure(err) ? "rolled back" : "unknown";
    }
  }

  private request(): TransRequest {
    return {
      gid: this.gid,
      transType: "msg",
      steps: this.steps,
      payloads: this.payloads,
      queryPrepared: this.queryPrepared,
      concurrent: this.options.concurrent || undefined,
      options: this.wire,
    };
  }
}
