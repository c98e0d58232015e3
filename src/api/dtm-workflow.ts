import type { TransSettings, WorkflowDefinition } from "../core/model";
import { workflowSettings } from "../core/workflow";
import { parseWorkflowCustom, workflowCustomText } from "../core/workflow-custom";
import { str } from "./dtm-fields";

/**
 * A workflow as dtm's body describes it: `custom_data` is `{"name":…,"data":<base64 input>}`; the
 * callback is `query_prepared`. A workflow's submit carries no `custom_data`.
 */
export function parseDtmWorkflow(b: Record<string, unknown>): WorkflowDefinition {
  return { kind: "workflow", ...parseWorkflowCustom(str(b, "custom_data")) };
}

/** A stored workflow's `custom_data`, as dtm shows it. */
export function dtmWorkflowCustomData(settings: TransSettings): string {
  return workflowCustomText(workflowSettings(settings));
}
