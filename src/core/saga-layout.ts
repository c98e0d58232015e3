import { invalidField } from "./errors";
import { parseJsonObject } from "./json-object";
import type { SagaLayout } from "./model";

/**
 * A saga's layout as JSON text, `{"concurrent":true,"orders":{"1":[0]}}`: dtm's `custom_data` of a
 * saga, and the text the store keeps in its settings column (so rows written by any version read
 * back). An empty layout is the empty text.
 */
export function sagaLayoutText(layout: SagaLayout): string {
  if (layout.concurrent === undefined && layout.orders.size === 0) return "";
  const out: { concurrent?: boolean; orders?: Record<string, number[]> } = {};
  if (layout.concurrent !== undefined) out.concurrent = layout.concurrent;
  if (layout.orders.size > 0) out.orders = Object.fromEntries(layout.orders);
  return JSON.stringify(out);
}

/**
 * Parses a layout text; its shape only (the step indexes are checked against the steps by the saga
 * kind). Throws InvalidField at `custom_data`, `concurrent` or `orders.<step>`.
 */
export function parseSagaLayout(text: string): SagaLayout {
  const layout: SagaLayout = { orders: new Map() };
  if (text.trim() === "") return layout;
  const { concurrent, orders } = parseJsonObject(text, ["custom_data"]);
  if (concurrent !== undefined && typeof concurrent !== "boolean") {
    throw invalidField(["concurrent"], "must be a boolean");
  }
  if (concurrent !== undefined) layout.concurrent = concurrent;
  if (orders === undefined || orders === null) return layout;
  if (typeof orders !== "object" || Array.isArray(orders)) {
    throw invalidField(["orders"], "must be an object of step index → [step index…]");
  }
  for (const [key, prereqs] of Object.entries(orders as Record<string, unknown>)) {
    const step = Number(key);
    if (key.trim() === "" || !Number.isInteger(step))
      throw invalidField(["orders", key], "is not a step index");
    if (!Array.isArray(prereqs) || !prereqs.every((p) => Number.isInteger(p))) {
      throw invalidField(["orders", key], "must be an array of step indexes");
    }
    layout.orders.set(step, prereqs as number[]);
  }
  return layout;
}
