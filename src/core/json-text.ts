import { invalidField, type FieldPath } from "./errors";

/**
 * A JSON object given as text (dtm's `custom_data`): null for the empty text, else the object; text
 * that is not JSON, or JSON that is not an object, is bad input at `path`.
 */
export function jsonObjectText(text: string, path: FieldPath): Record<string, unknown> | null {
  if (text.trim() === "") return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidField(path, "is not JSON text");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw invalidField(path, "must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}
