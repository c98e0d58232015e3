import { invalidField } from "../core/errors";

/**
 * Typed reads of the keys of dtm's JSON bodies: a missing or null key is the type's empty value,
 * anything of another type is bad input naming the key (as the core's path: the dtm edge renders it).
 */

/** `b[key]` as a string. */
export function str(b: Record<string, unknown>, key: string): string {
  const v = b[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalidField([key], `must be a string, not ${typeName(v)}`);
  return v;
}

/** `b[key]` as a boolean, reported at `path`. */
export function bool(b: Record<string, unknown>, key: string, path = [key]): boolean {
  const v = b[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw invalidField(path, `must be a boolean, not ${typeName(v)}`);
  return v;
}

/** `b[key]` as a non-negative integer, reported at `path`. */
export function int(b: Record<string, unknown>, key: string, path = [key]): number {
  const v = b[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw invalidField(path, `must be a non-negative integer, not ${JSON.stringify(v)}`);
  }
  return v;
}

/** `b[key]` as an array of strings. */
export function stringArray(b: Record<string, unknown>, key: string): string[] {
  const v = b[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidField([key], `must be an array of strings, not ${typeName(v)}`);
  v.forEach((x, i) => {
    if (typeof x !== "string") throw invalidField([key, i], `must be a string, not ${typeName(x)}`);
  });
  return v as string[];
}

/** dtm's `steps`: an array of objects of strings (saga: action and compensate; legacy: data). */
export function stepsOf(v: unknown): Array<Record<string, string>> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidField(["steps"], `must be an array of objects, not ${typeName(v)}`);
  return v.map((step, i) => {
    if (typeof step !== "object" || step === null || Array.isArray(step)) {
      throw invalidField(["steps", i], "must be an object of strings");
    }
    for (const [k, x] of Object.entries(step)) {
      if (typeof x !== "string") throw invalidField(["steps", i, k], `must be a string, not ${typeName(x)}`);
    }
    return step as Record<string, string>;
  });
}

/**
 * One body per step: gRPC's `BinPayloads`, else `payloads`, else (pre-payloads SDKs) each step's
 * `data`. As many as there are steps (no steps at all is the kind's to report).
 */
export function payloadsOf(
  b: Record<string, unknown>,
  steps: Array<Record<string, string>>,
  binPayloads?: Buffer[],
): Buffer[] {
  let payloads = binPayloads ?? stringArray(b, "payloads").map((p) => Buffer.from(p));
  if (binPayloads === undefined && payloads.length === 0 && steps.some((s) => s.data !== undefined)) {
    payloads = steps.map((s) => Buffer.from(s.data ?? ""));
  }
  if (steps.length > 0 && payloads.length !== steps.length) {
    throw invalidField(["payloads"], `has ${payloads.length} entries for ${steps.length} steps`);
  }
  return payloads;
}

/** `b[key]` as a boolean, or undefined when it is missing or null (the client did not say). */
export function optionalBool(b: Record<string, unknown>, key: string, path = [key]): boolean | undefined {
  return b[key] === undefined || b[key] === null ? undefined : bool(b, key, path);
}

/** `branch_headers`: an object of strings (their names and values are checked by the core). */
export function headers(v: unknown): Record<string, string> {
  const path = ["options", "branch_headers"];
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw invalidField(path, "must be an object of strings");
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string") throw invalidField([...path, k], `must be a string, not ${typeName(x)}`);
  }
  return v as Record<string, string>;
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A query parameter as a non-negative integer (bad input at `path`). */
export function intParam(q: URLSearchParams, key: string, path = [key]): number {
  const v = q.get(key) ?? "";
  if (!/^\d+$/.test(v)) throw invalidField(path, `must be a non-negative integer, not ${JSON.stringify(v)}`);
  return Number(v);
}
