import { ConnectError } from "@connectrpc/connect";
import { fieldErrorOf, formatPath, type FieldPath } from "../core/errors";

/**
 * How one API spells the core's field paths (`["steps", 0, "action"]`, `["options",
 * "timeout_to_fail"]`), so a bad-input error names the field as that API's request spells it.
 */
export type Spelling = (path: FieldPath) => string;

/** An InvalidField re-worded with `spell`; any other error as it is. */
export function spelledError(err: unknown, spell: Spelling): unknown {
  const field = fieldErrorOf(err);
  if (!field) return err;
  return new ConnectError(`${spell(field.path)}: ${field.problem}`, ConnectError.from(err).code);
}

/**
 * dtm's HTTP body: options are top-level keys (`timeout_to_fail`), a saga's layout lives in
 * `custom_data`, and the listing's page is `limit` and `position`.
 */
export const dtmHttpSpelling: Spelling = (path) => {
  const [head, ...rest] = path;
  if (head === "options") return formatPath(rest);
  if (head === "orders" || head === "concurrent" || head === "delay") {
    return formatPath(["custom_data", ...path]);
  }
  if (head === "page_size") return formatPath(["limit", ...rest]);
  if (head === "page_token") return formatPath(["position", ...rest]);
  return formatPath(path);
};

/** dtm's DtmRequest (gRPC), names as dtm's proto has them. */
const dtmGrpcNames: Record<string, string> = {
  gid: "Gid",
  trans_type: "TransType",
  steps: "Steps",
  payloads: "BinPayloads",
  custom_data: "CustomedData",
  orders: "CustomedData.orders",
  concurrent: "CustomedData.concurrent",
  delay: "CustomedData.delay",
  query_prepared: "QueryPrepared",
  rollback_reason: "RollbackReason",
  req_extra: "ReqExtra",
  // DtmBranchRequest: the kind's keys live in its Data map
  branch_id: "BranchID",
  confirm: "Data.confirm",
  cancel: "Data.cancel",
  url: "Data.url",
  op: "Data.op",
  status: "Data.status",
};

/** dtm's DtmTransOptions (gRPC). */
const dtmGrpcOptions: Record<string, string> = {
  wait_result: "WaitResult",
  timeout_to_fail: "TimeoutToFail",
  request_timeout: "RequestTimeout",
  retry_interval: "RetryInterval",
  retry_limit: "RetryLimit",
  branch_headers: "BranchHeaders",
};

/** dtm's gRPC API: DtmRequest's field names (`Steps`, `BinPayloads`, `TransOptions.TimeoutToFail`). */
export const dtmGrpcSpelling: Spelling = (path) => {
  const [head, ...rest] = path;
  if (head === "options") {
    const [option, ...more] = rest;
    return formatPath(["TransOptions", dtmGrpcOptions[String(option)] ?? String(option), ...more]);
  }
  return formatPath([dtmGrpcNames[String(head)] ?? String(head), ...rest]);
};

/** dtm's DtmTopicRequest (gRPC Subscribe, Unsubscribe, DeleteTopic). */
export const dtmGrpcTopicSpelling: Spelling = (path) => {
  const [head, ...rest] = path;
  const names: Record<string, string> = { topic: "Topic", url: "URL", remark: "Remark" };
  return formatPath([names[String(head)] ?? String(head), ...rest]);
};

/**
 * A native definition's fields (`fields`) under its `oneof` member `member`, a step's payload in its
 * step; the kind is the call's (RegisterTccBranch, AbortMsg, …), so a kind that does not match the
 * stored one is the gid's fault.
 */
function definitionSpelling(member: string, fields: string[]): Spelling {
  return (path) => {
    const [head, ...rest] = path;
    if (head === "trans_type") return "gid";
    if (fields.includes(String(head))) return formatPath([member, ...path]);
    if (head === "payloads")
      return formatPath([member, "steps", ...(rest.length > 0 ? [rest[0]!, "payload"] : [])]);
    return formatPath(path);
  };
}

/** The native API (`dtx.v1`): a saga's fields under `saga`, a step's payload in its step. */
export const nativeSpelling = definitionSpelling("saga", ["steps", "orders", "concurrent"]);

/** The native API's messages (`PrepareMsg`, `SubmitMsg`): a message's fields under `msg`. */
export const nativeMsgSpelling = definitionSpelling("msg", ["steps", "delay", "query_prepared"]);
