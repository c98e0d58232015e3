import { atTimeout } from "./due";
import { checkBranchId } from "./gid-check";
import type { BranchRegistration, NewBranch, Protocol, TransRecord } from "./model";
import type { Pass } from "./pass";
import type { TransKind } from "./trans-kind";

/** How a two-phase kind runs its second phase. */
export interface SecondPhase {
  kind: "tcc" | "xa";
  /** The op called on `submitted` (tcc: `confirm`; xa: `commit`). */
  forward: string;
  /** The op called on `aborting` (tcc: `cancel`; xa: `rollback`). */
  backward: string;
  /** The order rows are called in: the last registered first (tcc), or the first (xa). */
  lastFirst: boolean;
  /** POST even with an empty body (xa's phase 2 is always a POST). */
  forcePost: boolean;
  /**
   * The URLs of a registered branch's second phase, from the registration's fields (checked; paths
   * as the fields are named). An empty URL is nothing to call and counts as success.
   */
  urlsOf(fields: Record<string, string>, protocol: Protocol): { forward: string; backward: string };
}

/**
 * A kind whose branches the application registers while the transaction is `prepared` and whose
 * first phase the application runs itself (TCC's try, XA's local transaction and prepare); the
 * coordinator runs the second phase. `submit` confirms (commits) every registered branch, `abort`
 * or the timeout cancels (rolls back) every one of them, one at a time, stopping at the first that
 * does not succeed (the next pass goes on from there). FAILURE in the second phase is retried like
 * an error: it never turns a commit into a rollback.
 */
export function twoPhaseKind(phase: SecondPhase): TransKind {
  return {
    lifecycle: { prepare: true, submit: true, abort: { from: ["prepared", "aborting"], to: "aborting" } },
    // nothing is defined up front: the branches arrive by registration
    validate: () => undefined,
    branchesOf: () => [],
    settingsOf: () => ({ kind: phase.kind }),
    encodeSettings: () => "",
    decodeSettings: () => ({ kind: phase.kind }),
    registration(r: BranchRegistration, stored: TransRecord): NewBranch[] {
      checkBranchId(r.branchId);
      const { forward, backward } = phase.urlsOf(r.fields, stored.protocol);
      // the backward op's row first, then the forward op's: dtm's row order, which `query` shows
      return [
        { branchId: r.branchId, op: phase.backward, url: backward, payload: r.payload },
        { branchId: r.branchId, op: phase.forward, url: forward, payload: r.payload },
      ];
    },
    firstDue: atTimeout,
    runPass: (pass) => runSecondPhase(pass, phase),
  };
}

async function runSecondPhase(pass: Pass, phase: SecondPhase): Promise<void> {
  const trans = pass.trans;
  if (trans.status === "prepared") {
    if (!pass.timedOut(true)) {
      // a look before the timeout (a claim that looked ahead): nothing to do until then
      pass.scheduleAt(new Date(trans.createTime.getTime() + pass.timeoutMs(true)));
      return;
    }
    pass.setStatus("aborting", pass.timeoutReason(true));
  }
  if (trans.status === "aborting" && pass.storedStatus !== "aborting") {
    // `aborting` is written before the first cancel; a registration that committed before that
    // write is among the rows re-read now, one after it is refused (it needs `prepared`)
    await pass.checkpoint();
    await pass.reloadBranches();
  }
  if (trans.status !== "submitted" && trans.status !== "aborting") return;
  const forward = trans.status === "submitted";
  const op = forward ? phase.forward : phase.backward;
  const rows = pass.branches.filter((b) => b.op === op);
  if (phase.lastFirst) rows.reverse();
  for (const branch of rows) {
    if (branch.status === "succeed") continue;
    if (pass.remainingMs() <= 0) {
      // the pass budget is spent with rows left: the next look at once, not after the interval
      pass.scheduleAt(pass.now());
      return;
    }
    const r = await pass.call(branch, { failureIsFinal: false, forcePost: phase.forcePost });
    if (r.outcome !== "SUCCESS") return;
    pass.setBranchStatus(branch, "succeed");
  }
  pass.setStatus(forward ? "succeed" : "failed");
}
