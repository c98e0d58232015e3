import { invalidField } from "../core/errors";
import { parseJsonObject } from "../core/json-object";
import type { MsgDefinition, TransSettings } from "../core/model";
import { msgSettings } from "../core/msg-definition";
import { optionalBool, payloadsOf, stepsOf, str } from "./dtm-fields";

/**
 * A 2-phase message as dtm's body describes it: `steps` (`action` URLs or `topic://<name>`),
 * `payloads` (gRPC: `BinPayloads`), `custom_data` `{"delay":<seconds>}`, and the top-level
 * `concurrent` (HTTP only: dtm's gRPC request has no such field).
 */
export function parseDtmMsg(b: Record<string, unknown>, binPayloads?: Buffer[]): MsgDefinition {
  const steps = stepsOf(b.steps);
  const payloads = payloadsOf(b, steps, binPayloads);
  return {
    kind: "msg",
    steps: steps.map((s, i) => ({ action: s.action ?? "", payload: payloads[i]! })),
    // the top-level key, unlike a saga's, which lives in custom_data
    concurrent: optionalBool(b, "concurrent", ["options", "concurrent"]),
    delayMs: delaySeconds(str(b, "custom_data")) * 1000,
  };
}

/** The `delay` of a message's `custom_data` (seconds; 0 when not given). Other keys are ignored, as dtm does. */
function delaySeconds(customData: string): number {
  if (customData.trim() === "") return 0;
  const { delay } = parseJsonObject(customData, ["custom_data"]);
  if (delay === undefined || delay === null) return 0;
  if (typeof delay !== "number" || !Number.isSafeInteger(delay) || delay < 0) {
    throw invalidField(["delay"], `must be a non-negative integer of seconds, not ${JSON.stringify(delay)}`);
  }
  return delay;
}

/** A stored message's `custom_data`, as dtm shows it: `{"delay":<seconds>}`, or empty. */
export function dtmMsgCustomData(settings: TransSettings): string {
  const { delayMs } = msgSettings(settings);
  return delayMs > 0 ? JSON.stringify({ delay: Math.round(delayMs / 1000) }) : "";
}

/** Whether a stored message is delivered concurrently (dtm's `concurrent`). */
export function dtmMsgConcurrent(settings: TransSettings): boolean {
  return msgSettings(settings).concurrent === true;
}
