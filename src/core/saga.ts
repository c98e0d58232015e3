import { afterLease } from "./due";
import type { SagaLayout } from "./model";
import type { Pass } from "./pass";
import {
  sagaBranches,
  sagaDefinition,
  sagaSettings,
  sagaSettingsOf,
  sagaSteps,
  validateSaga,
  type SagaStepRows,
} from "./saga-definition";
import { parseSagaLayout, sagaLayoutText } from "./saga-layout";
import type { TransKind } from "./trans-kind";

/**
 * SAGA: forward actions in step order (or in parallel, bounded by `orders`, when concurrent); on a
 * FAILURE, a timeout or an exhausted retry limit, the steps that ran — or may have run — are
 * compensated, dependants first. Created by `submit` only; never prepared, aborted or registered to.
 */
export const saga: TransKind = {
  lifecycle: { prepare: false, submit: true },
  validate: (t, limits) => validateSaga(t, limits.maxSteps),
  branchesOf: sagaBranches,
  settingsOf(definition) {
    const { concurrent, orders } = sagaDefinition(definition);
    return { kind: "saga", concurrent, orders };
  },
  encodeSettings: (settings) => sagaLayoutText(sagaSettings(settings)),
  decodeSettings(text) {
    try {
      return { kind: "saga", ...parseSagaLayout(text) };
    } catch {
      // rows are validated before they are stored; a hand-edited one runs sequentially
      return { kind: "saga", orders: new Map() };
    }
  },
  firstDue: afterLease,
  async runPass(pass) {
    const steps = sagaSteps(pass.branches);
    const layout = sagaSettingsOf(pass.trans);
    let started = new Set<number>();
    if (pass.trans.status === "submitted") {
      if (pass.timedOut(false)) pass.setStatus("aborting", pass.timeoutReason(false));
      else started = await forward(pass, steps, layout);
    }
    if (pass.trans.status !== "aborting") return;
    // `aborting` is written before the first compensation: a re-run must never go forward again
    if (pass.storedStatus !== "aborting") await pass.checkpoint();
    pass.renewBudget();
    await compensate(pass, steps, layout, started);
  },
};

/** Whether step i's prerequisites have succeeded (the previous step, unless concurrent; plus `orders`). */
function prerequisitesDone(i: number, steps: SagaStepRows[], layout: SagaLayout): boolean {
  if (layout.concurrent !== true && i > 0 && steps[i - 1]!.action.status !== "succeed") return false;
  return (layout.orders.get(i) ?? []).every((p) => steps[p]!.action.status === "succeed");
}

/** Runs the forward phase; returns the steps whose action was started in this pass. */
async function forward(pass: Pass, steps: SagaStepRows[], layout: SagaLayout): Promise<Set<number>> {
  const started = new Set<number>();
  if (steps.some((s) => s.action.status === "failed")) {
    // a FAILURE was written before a crash, its text was not
    pass.setStatus("aborting", "fail message lost");
    return started;
  }
  const { retryLimit } = pass.trans.options;
  let retryCount = pass.trans.options.retryCount;
  let abortReason = "";
  let over = false;
  // an action succeeded since the last write: the steps it unlocks wait for Pass.fence
  let unwritten = false;
  const running = new Map<number, Promise<void>>();

  const runAction = async (i: number): Promise<void> => {
    const action = steps[i]!.action;
    for (;;) {
      const r = await pass.call(action, { failureIsFinal: true });
      if (over) return; // the pass moved on: a late answer changes nothing
      if (r.outcome === "SUCCESS") {
        unwritten = true;
        return pass.setBranchStatus(action, "succeed");
      }
      if (r.outcome === "FAILURE") {
        pass.setBranchStatus(action, "failed");
        abortReason ||= `url:${action.url} return failed: ${r.detail}`;
        return;
      }
      if (retryLimit <= 0) return; // ONGOING or an error: the recovery worker retries
      if (retryCount >= retryLimit) {
        abortReason ||= `RetryCount is greater than RetryLimit, RetryLimit: ${retryLimit}`;
        return;
      }
      // not back to back: the retries left are spread over the pass budget (Pass.waitBetweenRetries)
      const waited = await pass.waitBetweenRetries(retryLimit - retryCount);
      if (!waited || over) return; // the budget is spent, or the pass moved on meanwhile
      retryCount++;
    }
  };

  for (;;) {
    const ready = abortReason
      ? []
      : steps.flatMap((s, i) =>
          s.action.status === "prepared" && !started.has(i) && prerequisitesDone(i, steps, layout) ? [i] : [],
        );
    if (ready.length > 0 && unwritten) {
      // A pass that lost the transaction (its lease ran out while a call hung) must not go forward
      // from successes only it knows: the new owner, which never saw them, may roll back without
      // compensating the steps they unlocked (money created: the credit of a debit rolled back).
      await pass.fence().catch((err: unknown) => {
        over = true;
        throw err;
      });
      unwritten = pass.touchedBranches().some(({ branch }) => branch.status === "succeed");
    }
    for (const i of abortReason ? [] : ready) {
      started.add(i);
      running.set(
        i,
        runAction(i).finally(() => running.delete(i)),
      );
    }
    const remaining = pass.remainingMs();
    if (running.size === 0 || abortReason || remaining <= 0 || pass.timedOut(false)) break;
    await waitAny(running, remaining);
  }
  over = true;

  if (steps.every((s) => s.action.status === "succeed")) pass.setStatus("succeed");
  else if (abortReason) pass.setStatus("aborting", abortReason);
  else if (pass.timedOut(false)) pass.setStatus("aborting", pass.timeoutReason(false));
  return started;
}

/** Runs the compensation phase; moves the saga to `failed` when every needed compensation succeeded. */
async function compensate(
  pass: Pass,
  steps: SagaStepRows[],
  layout: SagaLayout,
  startedInPass: Set<number>,
): Promise<void> {
  // An action whose outcome is unknown — it could have started, or it was started and did not
  // answer — is assumed to have run, so its compensation runs (compensations tolerate "nothing to undo").
  const assumedRun = (i: number): boolean =>
    steps[i]!.action.status === "prepared" && (startedInPass.has(i) || prerequisitesDone(i, steps, layout));
  const needed = (i: number): boolean =>
    steps[i]!.compensate.status !== "succeed" && (steps[i]!.action.status !== "prepared" || assumedRun(i));
  // Steps that must be rolled back before step i: the next step (sequential), or the steps that
  // listed i as a prerequisite (concurrent).
  const dependants = (i: number): number[] =>
    layout.concurrent === true
      ? [...layout.orders].filter(([, pre]) => pre.includes(i)).map(([k]) => k)
      : i + 1 < steps.length
        ? [i + 1]
        : [];
  const need = steps.map((_, i) => needed(i));
  const started = new Set<number>();
  const running = new Map<number, Promise<void>>();
  let over = false;

  for (;;) {
    steps.forEach((s, i) => {
      if (!need[i] || started.has(i) || dependants(i).some((d) => need[d])) return;
      started.add(i);
      const run = async (): Promise<void> => {
        const r = await pass.call(s.compensate, { failureIsFinal: false });
        if (r.outcome === "SUCCESS" && !over) {
          pass.setBranchStatus(s.compensate, "succeed");
          need[i] = false;
        }
      };
      running.set(
        i,
        run().finally(() => running.delete(i)),
      );
    });
    const remaining = pass.remainingMs();
    if (running.size === 0 || remaining <= 0) break;
    await waitAny(running, remaining);
  }
  over = true;
  if (need.every((n) => !n)) pass.setStatus("failed");
}

/** Waits until one running call finishes or `ms` pass. */
async function waitAny(running: Map<number, Promise<void>>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([...running.values(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
