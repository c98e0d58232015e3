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
  return Array.isArray(v) ? "an array" : v === null ? "null" : `a ${typeof v}`;
}
