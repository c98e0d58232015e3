import { afterRetryInterval } from "./due";
import { invalidField } from "./errors";
import { checkBranchId } from "./gid-check";
import type { TransDefinition, TransSettings, WorkflowDefinition, WorkflowSettings } from "./model";
import type { Pass } from "./pass";
import type { TransKind } from "./trans-kind";
import { checkBranchUrl } from "./url-check";
import { parseWorkflowCustom, workflowCustomText } from "./workflow-custom";

/** The longest op a registration may record (the store's `op` column). */
const MAX_OP_LENGTH = 45;

/**
 * WORKFLOW: the client runs the workflow and records each step's outcome here (`registerBranch`,
 * one row per `(branch_id, op)`), then reports how it ended (`submit` with its status and result).
 * The coordinator keeps the progress and, while the workflow is unfinished, calls the client's
 * callback (`query_prepared`, branch `00`, op = the workflow's name, body = its input) every retry
 * interval so that the client replays it from the recorded progress. Never timed out (dtm's rule).
 */
export const workflow: TransKind = {
  lifecycle: { prepare: true, submit: false, clientDriven: true },
  validate(t) {
    const { name } = workflowDefinition(t.definition);
    if (name === "")
      throw invalidField(["custom_data", "name"], "is required: it names the workflow to resume");
    if (t.queryPrepared === "") {
      throw invalidField(
        ["query_prepared"],
        "is required: the coordinator resumes an unfinished workflow there",
      );
    }
    checkBranchUrl(t.queryPrepared, t.protocol, ["query_prepared"]);
  },
  branchesOf: () => [],
  settingsOf(definition) {
    const { name, input } = workflowDefinition(definition);
    return { kind: "workflow", name, input };
  },
  encodeSettings: (settings) => workflowCustomText(workflowSettings(settings)),
  decodeSettings(text) {
    try {
      return { kind: "workflow", ...parseWorkflowCustom(text) };
    } catch {
      // rows are validated before they are stored; a hand-edited one is resumed without input
      return { kind: "workflow", name: "", input: Buffer.alloc(0) };
    }
  },
  registration(r) {
    checkBranchId(r.branchId);
    const op = r.fields.op ?? "";
    const status = r.fields.status ?? "";
    if (op === "") throw invalidField(["op"], "is required");
    if (op.length > MAX_OP_LENGTH) throw invalidField(["op"], `is longer than ${MAX_OP_LENGTH} characters`);
    if (status !== "succeed" && status !== "failed") {
      throw invalidField(["status"], `must be succeed or failed, not ${JSON.stringify(status)}`);
    }
    return [{ branchId: r.branchId, op, url: "", payload: r.payload, status }];
  },
  firstDue: afterRetryInterval,
  async runPass(pass) {
    if (pass.trans.status !== "prepared") return;
    const { name, input } = workflowSettings(pass.trans.settings);
    // the answer only moves the retry interval: the client records its progress and ends the
    // workflow itself (a resumed workflow usually ends before this pass is written)
    await pass.callUrl({
      url: pass.trans.queryPrepared,
      branchId: "00",
      op: name,
      payload: resumeBody(pass, input),
    });
  },
};

/** The resume call's body: the input, wrapped in `workflow.WorkflowData` for a gRPC workflow. */
function resumeBody(pass: Pass, input: Buffer): Buffer {
  return pass.trans.protocol === "grpc" ? workflowDataMessage(input) : input;
}

/**
 * `message WorkflowData { bytes Data = 1; }` (dtm's `workflow.Workflow/Execute` request) encoded by
 * hand: field 1, wire type 2, the length as a varint, the bytes; no input is the empty message.
 */
export function workflowDataMessage(input: Buffer): Buffer {
  if (input.length === 0) return Buffer.alloc(0);
  const length: number[] = [];
  for (let n = input.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...length]), input]);
}

function workflowDefinition(d: TransDefinition): WorkflowDefinition {
  if (d.kind !== "workflow") throw new Error(`a ${d.kind} definition reached the workflow kind`);
  return d;
}

/** The settings of a stored workflow. */
export function workflowSettings(s: TransSettings): WorkflowSettings {
  if (s.kind !== "workflow") throw new Error(`${s.kind} settings read as a workflow's`);
  return s;
}
