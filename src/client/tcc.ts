import { callBranch, type BranchReply } from "./branch-call";
import type { Coordinator } from "./coordinator";
import type { TransOptions } from "./options";
import { payloadBytes, type Payload } from "./payload";
import { runTwoPhase, type TwoPhaseResult } from "./two-phase-run";

/**
 * One TCC branch: the URLs of its three operations (http(s) URLs or `host:port/pkg.Service/Method`)
 * and the payload each receives.
 *
 * @example
 * const out: TccBranch = {
 *   try: `${bank}/TransOutTry`, confirm: `${bank}/TransOutConfirm`, cancel: `${bank}/TransOutCancel`,
 *   payload: { user: "alice", amount: 30 },
 * };
 */
export interface TccBranch {
  try: string;
  /** Called by the coordinator when the transaction commits ("" for none). */
  confirm: string;
  /** Called by the coordinator when the transaction aborts, also when the try failed or never ran ("" for none). */
  cancel: string;
  payload?: Payload;
}

/** What a TCC transaction's function resolved with, and the transaction's gid. @example const { gid, result } = await dtx.tcc(fn) */
export type TccResult<T> = TwoPhaseResult<T>;

/** The longest branch id a nested branch may have (dtm's limit). */
const MAX_BRANCH_ID = 20;

/**
 * A TCC global transaction as the function given to {@link Coordinator.tcc} (or a branch that adds
 * nested branches) sees it: each `callBranch` registers the branch's confirm and cancel with the
 * coordinator, then calls its try.
 *
 * @example
 * await dtx.tcc(async (tcc) => {
 *   await tcc.callBranch({ try: `${bank}/TransOutTry`, confirm: …, cancel: …, payload: { user: "alice", amount: 30 } });
 *   await tcc.callBranch({ try: `${bank}/TransInTry`, confirm: …, cancel: …, payload: { user: "bob", amount: 30 } });
 * });
 */
export class Tcc {
  private branches = 0;

  /** @internal use {@link Coordinator.tcc} or {@link Coordinator.tccFrom} */
  constructor(
    private readonly coordinator: Coordinator,
    /** The global transaction id. */
    readonly gid: string,
    /** The branch id nested branches start from ("" at the top). */
    readonly parentBranchId: string,
    private readonly headers: Record<string, string>,
  ) {}

  /**
   * Registers a branch and calls its try. Resolves with the try's answer; throws
   * {@link BranchFailure} when the try failed for good, {@link BranchOngoing} or
   * {@link BranchCallError} otherwise, {@link CoordinatorError} when the registration was refused.
   * Any of them, thrown out of the transaction's function, aborts the transaction.
   *
   * @example
   * const reply = await tcc.callBranch({ try: tryUrl, confirm: confirmUrl, cancel: cancelUrl, payload: { amount: 30 } });
   */
  async callBranch(branch: TccBranch): Promise<BranchReply> {
    const branchId = this.nextBranchId();
    const payload = payloadBytes(branch.payload);
    await this.coordinator.transport.registerBranch({
      gid: this.gid,
      transType: "tcc",
      branchId,
      data: { confirm: branch.confirm, cancel: branch.cancel },
      payload,
    });
    return callBranch(this.coordinator.channels, {
      url: branch.try,
      gid: this.gid,
      transType: "tcc",
      branchId,
      op: "try",
      dtm: this.coordinator.address,
      payload,
      headers: this.headers,
      timeoutMs: this.coordinator.branchTimeoutMs,
    });
  }

  private nextBranchId(): string {
    if (this.branches >= 99)
      throw new RangeError(`tcc ${this.gid}: more than 99 branches under "${this.parentBranchId}"`);
    const id = this.parentBranchId + String(++this.branches).padStart(2, "0");
    if (id.length > MAX_BRANCH_ID)
      throw new RangeError(`tcc ${this.gid}: branch id ${id} is nested too deep`);
    return id;
  }
}

/**
 * Runs a TCC global transaction: prepare, `fn`, then submit; when `fn` throws, abort (the
 * coordinator cancels every registered branch) and rethrow `fn`'s error.
 *
 * @internal use {@link Coordinator.tcc}
 */
export function runTcc<T>(
  coordinator: Coordinator,
  fn: (tcc: Tcc) => Promise<T>,
  options: TransOptions,
): Promise<TccResult<T>> {
  return runTwoPhase(
    coordinator,
    "tcc",
    (gid, headers) => fn(new Tcc(coordinator, gid, "", headers)),
    options,
  );
}
