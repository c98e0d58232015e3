import type { SagaDefinition, TransSettings } from "../core/model";
import { invalidField } from "../core/errors";
import { sagaSettings } from "../core/saga-definition";
import { parseSagaLayout, sagaLayoutText } from "../core/saga-layout";
import { stepsOf, str, stringArray } from "./dtm-fields";

/**
 * A saga as dtm's body describes it: `steps` (action and compensate URLs), `payloads` (one body per
 * step; gRPC: `BinPayloads`), and its layout as JSON text in `custom_data`.
 */
export function parseDtmSaga(b: Record<string, unknown>, binPayloads?: Buffer[]): SagaDefinition {
  const steps = stepsOf(b.steps);
  let payloads = binPayloads ?? stringArray(b, "payloads").map((p) => Buffer.from(p));
  if (binPayloads === undefined && payloads.length === 0 && steps.some((s) => s.data !== undefined)) {
    // pre-payloads SDKs put each step's body in steps[i].data
    payloads = steps.map((s) => Buffer.from(s.data ?? ""));
  }
  // no steps at all is the saga kind's to report
  if (steps.length > 0 && payloads.length !== steps.length) {
    throw invalidField(["payloads"], `has ${payloads.length} entries for ${steps.length} steps`);
  }
  return {
    kind: "saga",
    steps: steps.map((s, i) => ({
      action: s.action ?? "",
      compensate: s.compensate ?? "",
      payload: payloads[i]!,
    })),
    ...parseSagaLayout(str(b, "custom_data")),
  };
}

/** A stored saga's `custom_data`, as dtm shows it. */
export function dtmSagaCustomData(settings: TransSettings): string {
  return sagaLayoutText(sagaSettings(settings));
}
