import { callBranch, type BranchReply } from "./branch-call";
import type { Coordinator } from "./coordinator";
import type { TransOptions } from "./options";
import { payloadBytes, type Payload } from "./payload";
import { runTwoPhase, type TwoPhaseResult } from "./two-phase-run";

/** What an XA transaction's function resolved with, and the transaction's gid. @example const { gid, result } = await dtx.xa(fn) */
export type XaResult<T> = TwoPhaseResult<T>;

/**
 * An XA global transaction as the function given to {@link Coordinator.xa} sees it: each
 * `callBranch` calls a resource manager's XA action (`op=action`, the URL itself as `phase2_url`);
 * the resource manager (an {@link XaResource}) runs its local transaction up to `PREPARE
 * TRANSACTION`, registers the branch and answers. The coordinator then commits or rolls back every
 * registered branch at that URL.
 *
 * @example
 * await dtx.xa(async (xa) => {
 *   await xa.callBranch(`${bank}/XaTransOut`, { user: "alice", amount: 30 });
 *   await xa.callBranch(`${bank}/XaTransIn`, { user: "bob", amount: 30 });
 * });
 */
export class Xa {
  private branches = 0;

  /** @internal use {@link Coordinator.xa} */
  constructor(
    private readonly coordinator: Coordinator,
    /** The global transaction id. */
    readonly gid: string,
    private readonly headers: Record<string, string>,
  ) {}

  /**
   * Calls a resource manager's XA action as the next branch (`01`, `02`, …). Resolves with its
   * answer; throws {@link BranchFailure} when it failed for good, {@link BranchOngoing} or
   * {@link BranchCallError} otherwise. Any of them, thrown out of the transaction's function, rolls
   * the transaction back.
   *
   * @example
   * await xa.callBranch(`${bank}/XaTransOut`, { user: "alice", amount: 30 });
   */
  callBranch(url: string, payload?: Payload): Promise<BranchReply> {
    if (this.branches >= 99) throw new RangeError(`xa ${this.gid}: more than 99 branches`);
    return callBranch(this.coordinator.channels, {
      url,
      gid: this.gid,
      transType: "xa",
      branchId: String(++this.branches).padStart(2, "0"),
      op: "action",
      dtm: this.coordinator.address,
      payload: payloadBytes(payload),
      headers: this.headers,
      timeoutMs: this.coordinator.branchTimeoutMs,
      phase2Url: url,
    });
  }
}

/** @internal use {@link Coordinator.xa} */
export function runXa<T>(
  coordinator: Coordinator,
  fn: (xa: Xa) => Promise<T>,
  options: TransOptions,
): Promise<XaResult<T>> {
  return runTwoPhase(coordinator, "xa", (gid, headers) => fn(new Xa(coordinator, gid, headers)), options);
}
