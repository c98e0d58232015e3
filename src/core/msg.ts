import { afterLease, atTimeout } from "./due";
import type { BranchRecord } from "./model";
import {
  msgBranches,
  msgDefinition,
  msgSettings,
  msgSettingsOf,
  msgSettingsText,
  parseMsgSettings,
  resolveMsg,
  validateMsg,
} from "./msg-definition";
import type { Pass } from "./pass";
import type { TransKind } from "./trans-kind";

/**
 * 2-phase message: the application prepares it (with a check-back URL), commits its own local
 * transaction, then submits it — or submits it directly. Once submitted every step is delivered,
 * in order or all at once, retried until it succeeds (a step's FAILURE is retried too: a message
 * never rolls back). A prepared message that is neither submitted nor aborted by its timeout is
 * decided by asking the application's `query_prepared` URL.
 */
export const msg: TransKind = {
  lifecycle: { prepare: true, submit: true, abort: { from: ["prepared"], to: "failed" } },
  validate: validateMsg,
  resolve: resolveMsg,
  branchesOf: msgBranches,
  settingsOf(definition) {
    const { concurrent, delayMs } = msgDefinition(definition);
    return { kind: "msg", concurrent, delayMs };
  },
  encodeSettings: (settings) => msgSettingsText(msgSettings(settings)),
  decodeSettings: parseMsgSettings,
  settingsOnSubmit(stored, submitted) {
    const prepared = stored.kind === "msg" ? stored : parseMsgSettings("");
    const { concurrent, delayMs } = msgDefinition(submitted);
    // dtm's SDKs send the delay with the submit only, and may leave `concurrent` out of either
    return {
      kind: "msg",
      concurrent: concurrent ?? prepared.concurrent,
      delayMs: delayMs > 0 ? delayMs : prepared.delayMs,
    };
  },
  firstDue: (trans, s) => (trans.status === "prepared" ? atTimeout(trans, s) : afterLease(trans, s)),
  async runPass(pass) {
    if (pass.trans.status === "prepared" && !(await checkBack(pass))) return;
    if (pass.trans.status !== "submitted") return;
    const { concurrent, delayMs } = msgSettingsOf(pass.trans);
    const deliverAt = pass.trans.createTime.getTime() + delayMs;
    if (pass.now().getTime() < deliverAt) {
      pass.scheduleAt(new Date(deliverAt)); // no step before the delay
      return;
    }
    const pending = pass.branches.filter((b) => b.op === "action" && b.status === "prepared");
    const delivered =
      concurrent === true ? await deliverAll(pass, pending) : await deliverInOrder(pass, pending);
    if (delivered) pass.setStatus("succeed");
  },
};

/**
 * Decides a prepared message once it has timed out, by its check-back (GET `query_prepared`,
 * branch `00`, op `msg`, no body): SUCCESS — the local transaction committed — moves it to
 * `submitted`, written before any step is called; FAILURE fails it, nothing called; ONGOING asks
 * again after the base interval; an error backs off. True when the message is to be delivered now.
 */
async function checkBack(pass: Pass): Promise<boolean> {
  if (!pass.timedOut(true)) {
    // looked at early: wait for the timeout, not for the retry interval
    const at = pass.timeoutAt(true);
    if (at) pass.scheduleAt(at);
    return false;
  }
  const r = await pass.callUrl({
    url: pass.trans.queryPrepared,
    branchId: "00",
    op: "msg",
    payload: Buffer.alloc(0),
    failureIsFinal: true,
  });
  if (r.outcome === "FAILURE") {
    pass.setStatus("failed", `query_prepared answered FAILURE: ${r.detail}`);
    return false;
  }
  if (r.outcome === "ONGOING") pass.observe("progress"); // dtm asks again after the base interval
  if (r.outcome !== "SUCCESS") return false;
  pass.setStatus("submitted");
  // the application said it committed: a re-run must deliver, whatever a later check-back says
  await pass.checkpoint();
  pass.renewBudget();
  return true;
}

/** Delivers the steps in row order, stopping at the first that does not succeed; true when all did. */
async function deliverInOrder(pass: Pass, pending: BranchRecord[]): Promise<boolean> {
  for (const b of pending) {
    if (pass.remainingMs() <= 0) {
      pass.scheduleAt(pass.now()); // the budget is spent, not the message: go on at the next claim
      return false;
    }
    const r = await pass.call(b, { failureIsFinal: false });
    if (r.outcome !== "SUCCESS") return false;
    pass.setBranchStatus(b, "succeed");
  }
  return true;
}

/** Delivers every step at once; true when all succeeded. */
async function deliverAll(pass: Pass, pending: BranchRecord[]): Promise<boolean> {
  const results = await Promise.all(
    pending.map(async (b) => {
      const r = await pass.call(b, { failureIsFinal: false });
      if (r.outcome === "SUCCESS") pass.setBranchStatus(b, "succeed");
      return r.outcome === "SUCCESS";
    }),
  );
  return results.every(Boolean);
}
