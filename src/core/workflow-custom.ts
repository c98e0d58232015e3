import { invalidField } from "./errors";
import { parseJsonObject } from "./json-object";

/** A workflow's name and input, as its `custom_data` carries them. */
export interface WorkflowCustom {
  name: string;
  input: Buffer;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Whether `text` is standard base64 (padded), as Go encodes bytes in JSON. */
export function isBase64(text: string): boolean {
  return BASE64.test(text);
}

/**
 * A workflow's name and input as JSON text, `{"data":"<base64>","name":"<name>"}`: dtm's
 * `custom_data` of a workflow (keys in the order Go's encoder sorts them; no input is `null`), and
 * the text the store keeps in its settings column.
 */
export function workflowCustomText(w: WorkflowCustom): string {
  return JSON.stringify({ data: w.input.length > 0 ? w.input.toString("base64") : null, name: w.name });
}

/**
 * Parses a workflow's `custom_data`: a JSON object with the workflow's `name` (a string) and its
 * input in `data` (base64, or null for none); the empty text is neither (a workflow's submit carries
 * none). Throws InvalidField at `custom_data` or below.
 */
export function parseWorkflowCustom(text: string): WorkflowCustom {
  if (text.trim() === "") return { name: "", input: Buffer.alloc(0) };
  const { name, data } = parseJsonObject(text, ["custom_data"], '{"name":…,"data":…}');
  if (name !== undefined && name !== null && typeof name !== "string") {
    throw invalidField(["custom_data", "name"], "must be a string");
  }
  if (data !== undefined && data !== null && (typeof data !== "string" || !isBase64(data))) {
    throw invalidField(["custom_data", "data"], "must be base64 text or null");
  }
  return { name: name ?? "", input: Buffer.from(typeof data === "string" ? data : "", "base64") };
}
