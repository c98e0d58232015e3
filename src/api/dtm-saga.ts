import type { SagaDefinition, TransSettings } from "../core/model";
import { sagaSettings } from "../core/saga-definition";
import { parseSagaLayout, sagaLayoutText } from "../core/saga-layout";
import { payloadsOf, stepsOf, str } from "./dtm-fields";

/**
 * A saga as dtm's body describes it: `steps` (action and compensate URLs), `payloads` (one body per
 * step; gRPC: `BinPayloads`), and its layout as JSON text in `custom_data`.
 */
export function parseDtmSaga(b: Record<string, unknown>, binPayloads?: Buffer[]): SagaDefinition {
  const steps = stepsOf(b.steps);
  const payloads = payloadsOf(b, steps, binPayloads);
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
