import { invalidArgument } from "./errors";
import type { BranchRecord, NewBranch, NewTrans } from "./model";

/** A saga's custom_data: `{"concurrent":bool,"orders":{"<step>":[<prerequisite step>…]}}`. */
export interface SagaLayout {
  concurrent: boolean;
  /** step index → steps that must have succeeded before it may start. */
  orders: Map<number, number[]>;
}

/** One step's two stored rows. */
export interface SagaStepRows {
  action: BranchRecord;
  compensate: BranchRecord;
}

/** Branch id of step i (0-based): `01`, `02`, … */
export function sagaBranchId(i: number): string {
  return String(i + 1).padStart(2, "0");
}

/** Parses custom_data; `stepCount` bounds the indexes. Throws invalidArgument naming the field. */
export function parseSagaLayout(customData: string, stepCount: number): SagaLayout {
  const layout: SagaLayout = { concurrent: false, orders: new Map() };
  if (customData.trim() === "") return layout;
  let parsed: unknown;
  try {
    parsed = JSON.parse(customData);
  } catch {
    throw invalidArgument("custom_data", "is not JSON text");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalidArgument("custom_data", "must be a JSON object");
  }
  const { concurrent, orders } = parsed as { concurrent?: unknown; orders?: unknown };
  if (concurrent !== undefined && typeof concurrent !== "boolean") {
    throw invalidArgument("custom_data.concurrent", "must be a boolean");
  }
  layout.concurrent = concurrent === true;
  if (orders === undefined || orders === null) return layout;
  if (typeof orders !== "object" || Array.isArray(orders)) {
    throw invalidArgument("custom_data.orders", "must be an object of step index → [step index…]");
  }
  for (const [key, prereqs] of Object.entries(orders as Record<string, unknown>)) {
    const step = Number(key);
    const field = `custom_data.orders.${key}`;
    if (!Number.isInteger(step) || step < 0 || step >= stepCount) {
      throw invalidArgument(field, `step index out of range 0..${stepCount - 1}`);
    }
    if (!Array.isArray(prereqs) || prereqs.some((p) => !Number.isInteger(p) || p < 0 || p >= stepCount)) {
      throw invalidArgument(field, `must be an array of step indexes in 0..${stepCount - 1}`);
    }
    layout.orders.set(step, prereqs as number[]);
  }
  const cycle = findCycle(layout.orders, stepCount);
  if (cycle !== null) throw invalidArgument("custom_data.orders", `step ${cycle} depends on itself`);
  return layout;
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

/** Checks a new saga: steps, URLs, payloads and layout. */
export function validateSaga(t: NewTrans, maxSteps: number): void {
  if (t.steps.length === 0) throw invalidArgument("steps", "a saga needs at least one step");
  if (t.steps.length > maxSteps) throw invalidArgument("steps", `at most ${maxSteps} steps`);
  if (t.payloads.length !== t.steps.length) {
    throw invalidArgument("payloads", `has ${t.payloads.length} entries for ${t.steps.length} steps`);
  }
  t.steps.forEach((step, i) => {
    // a missing URL is an empty one, as in dtm: nothing to call, counts as success
    for (const op of ["action", "compensate"]) {
      const url = step[op] ?? "";
      if (url !== "") checkUrl(url, t.protocol, `steps[${i}].${op}`);
    }
  });
  parseSagaLayout(t.customData, t.steps.length);
}

function checkUrl(url: string, protocol: string, field: string): void {
  if (url.length > 1024) throw invalidArgument(field, "is longer than 1024 characters");
  if (/^https?:\/\//.test(url)) {
    try {
      new URL(url);
      return;
    } catch {
      throw invalidArgument(field, `${JSON.stringify(url)} is not a valid URL`);
    }
  }
  if (protocol === "grpc" && /^[^/\s:]+:\d+\/[\w.]+\/\w+$/.test(url)) return;
  throw invalidArgument(
    field,
    protocol === "grpc"
      ? `${JSON.stringify(url)} is neither an http(s) URL nor host:port/package.Service/Method`
      : `${JSON.stringify(url)} is not an http(s) URL`,
  );
}

/** The stored rows of a saga: per step a compensate row, then an action row, both with the payload. */
export function sagaBranches(t: NewTrans): NewBranch[] {
  return t.steps.flatMap((step, i) => [
    { branchId: sagaBranchId(i), op: "compensate", url: step.compensate ?? "", payload: t.payloads[i]! },
    { branchId: sagaBranchId(i), op: "action", url: step.action ?? "", payload: t.payloads[i]! },
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
