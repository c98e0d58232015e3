import { invalidField, type FieldPath } from "./errors";
import { checkJsonInput } from "./json-input";

/**
 * JSON text that must hold an object (a `custom_data`): its keys, or bad input at `path` —
 * `"is not JSON text"`, or `must be a JSON object` followed by `shape` when given.
 */
export function parseJsonObject(text: string, path: FieldPath, shape = ""): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidField(path, "is not JSON text");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalidField(path, `must be a JSON object${shape ? ` ${shape}` : ""}`);
  }
  checkJsonInput(parsed, path);
  return parsed as Record<string, unknown>;
}
