import { invalidField } from "./errors";
import { checkJsonRpcPayload, checkBranchUrl } from "./url-check";
import type {
  BranchRecord,
  NewBranch,
  NewTrans,
  SagaDefinition,
  SagaSettings,
  TransDefinition,
  TransRecord,
  TransSettings,
} from "./model";

/** One step's two stored rows. */
export interface SagaStepRows {
  action: BranchRecord;
  compensate: BranchRecord;
}

/** Branch id of step i (0-based): `01`, `02`, … */
export function sagaBranchId(i: number): string {
  return String(i + 1).padStart(2, "0");
}

/** A definition the registry handed the saga kind (anything else is a wiring bug). */
export function sagaDefinition(d: TransDefinition): SagaDefinition {
  if (d.kind !== "saga") throw new Error(`a ${d.kind} definition reached the saga kind`);
  return d;
}

/** The saga settings of a stored saga. */
export function sagaSettings(s: TransSettings): SagaSettings {
  if (s.kind !== "saga") throw new Error(`${s.kind} settings read as a saga's`);
  return s;
}

/** The settings of a stored saga. */
export function sagaSettingsOf(t: TransRecord): SagaSettings {
  return sagaSettings(t.settings);
}

/** Checks a new saga: steps, URLs and the orders between steps. */
export function validateSaga(t: NewTrans, maxSteps: number): void {
  const { steps, orders } = sagaDefinition(t.definition);
  if (steps.length === 0) throw invalidField(["steps"], "a saga needs at least one step");
  if (steps.length > maxSteps) throw invalidField(["steps"], `at most ${maxSteps} steps`);
  steps.forEach((step, i) => {
    // a missing URL is an empty one, as in dtm: nothing to call, counts as success
    for (const op of ["action", "compensate"] as const) {
      if (step[op] === "") continue;
      checkBranchUrl(step[op], t.protocol, ["steps", i, op]);
      checkJsonRpcPayload(t.protocol, step[op], step.payload, ["payloads", i]);
    }
  });
  const last = steps.length - 1;
  for (const [step, prereqs] of orders) {
    const path = ["orders", String(step)];
    if (step < 0 || step > last) throw invalidField(path, `step index out of range 0..${last}`);
    if (prereqs.some((p) => p < 0 || p > last)) {
      throw invalidField(path, `must be an array of step indexes in 0..${last}`);
    }
  }
  const cycle = findCycle(orders, steps.length);
  if (cycle !== null) throw invalidField(["orders"], `step ${cycle} depends on itself`);
}

/** A step that (transitively) must precede itself, or null. */
function findCycle(orders: Map<number, number[]>, n: number): number | null {
  const state = new Array<0 | 1 | 2>(n).fill(0); // 0 new, 1 on the path, 2 done
  const visit = (i: number): boolean => {
    if (state[i] === 1) return true;
    if (state[i] === 2) return false;
    state[i] = 1;
    for (const p of orders.get(i) ?? []) if (visit(p)) return true;
    state[i] = 2;
    return false;
  };
  for (let i = 0; i < n; i++) if (visit(i)) return i;
  return null;
}

/** The stored rows of a saga: per step a compensate row, then an action row, both with the payload. */
export function sagaBranches(d: TransDefinition): NewBranch[] {
  return sagaDefinition(d).steps.flatMap((step, i) => [
    { branchId: sagaBranchId(i), op: "compensate", url: step.compensate, payload: step.payload },
    { branchId: sagaBranchId(i), op: "action", url: step.action, payload: step.payload },
  ]);
}

/** Pairs stored rows into steps (rows are in insertion order: compensate, action per step). */
export function sagaSteps(branches: BranchRecord[]): SagaStepRows[] {
  const steps: SagaStepRows[] = [];
  for (let i = 0; i + 1 < branches.length; i += 2) {
    steps.push({ compensate: branches[i]!, action: branches[i + 1]! });
  }
  return steps;
}
