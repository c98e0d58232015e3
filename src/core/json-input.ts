import { invalidField, type FieldPath } from "./errors";

/**
 * The deepest nesting of arrays and objects a request's JSON may have (a body, a `custom_data`).
 * Parsing deeper JSON is safe, but every later walk over it (copying, printing) would recurse that
 * deep; dtm's own bodies nest 4 levels at most.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Checks a parsed request value: nested at most MAX_JSON_DEPTH levels, and no string holding U+0000,
 * which Postgres text cannot store (left in, it would fail the insert instead of naming the field).
 * Bad input names the field (`path` is where `value` sits). Walks without recursion.
 */
export function checkJsonInput(value: unknown, path: FieldPath = []): void {
  const stack: Array<{ value: unknown; path: FieldPath }> = [{ value, path }];
  while (stack.length > 0) {
    const { value: v, path: at } = stack.pop()!;
    if (typeof v === "string") {
      if (v.includes("\u0000")) throw invalidField(pathOrBody(at), "contains a NUL character (U+0000)");
      continue;
    }
    if (typeof v !== "object" || v === null || ArrayBuffer.isView(v)) continue;
    if (at.length - path.length >= MAX_JSON_DEPTH) {
      throw invalidField(pathOrBody(at), `nests deeper than the limit of ${MAX_JSON_DEPTH} levels`);
    }
    if (Array.isArray(v)) v.forEach((item, i) => stack.push({ value: item, path: [...at, i] }));
    else for (const [k, item] of Object.entries(v)) stack.push({ value: item, path: [...at, k] });
  }
}

function pathOrBody(path: FieldPath): FieldPath {
  return path.length > 0 ? path : ["body"];
}
