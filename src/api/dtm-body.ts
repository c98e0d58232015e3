import { invalidField } from "../core/errors";
import { checkGid } from "../core/gid-check";
import {
  defaultOptions,
  type ClientOutcome,
  type NewTrans,
  type Protocol,
  type TransDefinition,
  type TransType,
} from "../core/model";
import { unknownKind } from "../core/registry";
import { bool, headers, int, str } from "./dtm-fields";
import { parseDtmMsg } from "./dtm-msg";
import { parseDtmSaga } from "./dtm-saga";
import { parseDtmWorkflow } from "./dtm-workflow";

/** How dtm's body describes each kind's definition: one entry per kind, no switch on the kind. */
const definitions: Partial<
  Record<TransType, (b: Record<string, unknown>, binPayloads?: Buffer[]) => TransDefinition>
> = {
  saga: parseDtmSaga,
  msg: parseDtmMsg,
  // branches arrive by registerBranch; a body's steps and payloads are ignored, as dtm does
  tcc: () => ({ kind: "tcc" }),
  xa: () => ({ kind: "xa" }),
  workflow: parseDtmWorkflow,
};

/** The protocols a transaction's branches may be called with. */
const PROTOCOLS: readonly string[] = ["http", "grpc", "json-rpc"];

/**
 * Turns dtm's transaction body (the JSON of prepare/submit/abort, §2.3 of the protocol) into a
 * NewTrans, checking every type; the core checks the values (the gid first, as dtm's clients expect
 * the gid named when a request is empty). Durations arrive in seconds. gRPC requests carry their
 * payloads as bytes (`binPayloads`) instead of `payloads`.
 */
export function parseDtmBody(raw: unknown, maxGidLength: number, binPayloads?: Buffer[]): NewTrans {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalidField(["body"], "must be a JSON object");
  }
  const b = raw as Record<string, unknown>;
  const gid = str(b, "gid");
  checkGid(gid, maxGidLength);
  const transType = str(b, "trans_type");
  if (transType === "") throw invalidField(["trans_type"], "is required");
  const parse = Object.hasOwn(definitions, transType) ? definitions[transType as TransType] : undefined;
  if (!parse) throw unknownKind(transType);
  const definition = parse(b, binPayloads);
  const protocol = str(b, "protocol") || "http";
  if (!PROTOCOLS.includes(protocol)) {
    throw invalidField(["protocol"], `must be http, grpc or json-rpc, not ${JSON.stringify(protocol)}`);
  }
  const options = defaultOptions();
  const option = (key: string): string[] => ["options", key];
  options.waitResult = bool(b, "wait_result", option("wait_result"));
  options.timeoutToFailMs = int(b, "timeout_to_fail", option("timeout_to_fail")) * 1000;
  options.requestTimeoutMs = int(b, "request_timeout", option("request_timeout")) * 1000;
  options.retryIntervalMs = int(b, "retry_interval", option("retry_interval")) * 1000;
  options.retryLimit = int(b, "retry_limit", option("retry_limit"));
  options.retryCount = int(b, "retry_count", option("retry_count"));
  options.branchHeaders = headers(b.branch_headers);
  return {
    gid,
    protocol: protocol as Protocol,
    queryPrepared: str(b, "query_prepared"),
    options,
    definition,
    outcome: outcomeOf(b.req_extra),
  };
}

/**
 * `req_extra`, an object of strings a workflow's submit carries: `status` (succeed or failed),
 * `rollback_reason` and `result` (base64). Absent: no outcome.
 */
function outcomeOf(v: unknown): ClientOutcome | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v))
    throw invalidField(["req_extra"], "must be an object of strings");
  const extra = v as Record<string, unknown>;
  const text = (key: string): string => {
    const x = extra[key];
    if (x === undefined || x === null) return "";
    if (typeof x !== "string") throw invalidField(["req_extra", key], "must be a string");
    return x;
  };
  const status = text("status");
  if (status !== "succeed" && status !== "failed") {
    throw invalidField(["req_extra", "status"], `must be succeed or failed, not ${JSON.stringify(status)}`);
  }
  return { status, rollbackReason: text("rollback_reason"), result: text("result") };
}
