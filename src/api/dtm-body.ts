import { invalidArgument } from "../core/errors";
import { defaultOptions, type NewTrans, type Protocol, type TransType } from "../core/model";
import { checkGid } from "./gid-check";

/**
 * Turns dtm's transaction body (the JSON of prepare/submit/abort, §2.3 of the protocol) into a
 * NewTrans, checking every type and naming the field that is wrong. Durations arrive in seconds.
 */
export function parseDtmBody(raw: unknown, maxGidLength: number): NewTrans {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalidArgument("body", "must be a JSON object");
  }
  const b = raw as Record<string, unknown>;
  const gid = str(b, "gid");
  checkGid(gid, maxGidLength);
  const transType = str(b, "trans_type");
  if (transType === "") throw invalidArgument("trans_type", "is required");
  const steps = stepsOf(b.steps);
  let payloads = stringArray(b, "payloads").map((p) => Buffer.from(p));
  if (payloads.length === 0 && steps.some((s) => s.data !== undefined)) {
    // pre-payloads SDKs put each step's body in steps[i].data
    payloads = steps.map((s) => Buffer.from(s.data ?? ""));
  }
  const protocol = str(b, "protocol") || "http";
  if (!["http", "grpc"].includes(protocol)) {
    // json-rpc branch calls (dtm's §4.3) are not implemented: refuse rather than call them as plain HTTP
    throw invalidArgument("protocol", `must be http or grpc, not ${JSON.stringify(protocol)}`);
  }
  const options = defaultOptions();
  options.waitResult = bool(b, "wait_result");
  options.timeoutToFailMs = seconds(b, "timeout_to_fail");
  options.requestTimeoutMs = seconds(b, "request_timeout");
  options.retryIntervalMs = seconds(b, "retry_interval");
  options.retryLimit = int(b, "retry_limit");
  options.retryCount = int(b, "retry_count");
  options.branchHeaders = headers(b.branch_headers);
  return {
    gid,
    transType: transType as TransType,
    protocol: protocol as Protocol,
    queryPrepared: str(b, "query_prepared"),
    customData: str(b, "custom_data"),
    options,
    steps,
    payloads,
  };
}

function str(b: Record<string, unknown>, key: string): string {
  const v = b[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw invalidArgument(key, `must be a string, not ${typeName(v)}`);
  return v;
}

function bool(b: Record<string, unknown>, key: string): boolean {
  const v = b[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") throw invalidArgument(key, `must be a boolean, not ${typeName(v)}`);
  return v;
}

function int(b: Record<string, unknown>, key: string): number {
  const v = b[key];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw invalidArgument(key, `must be a non-negative integer, not ${JSON.stringify(v)}`);
  }
  return v;
}

function seconds(b: Record<string, unknown>, key: string): number {
  return int(b, key) * 1000;
}

function stringArray(b: Record<string, unknown>, key: string): string[] {
  const v = b[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidArgument(key, `must be an array of strings, not ${typeName(v)}`);
  v.forEach((x, i) => {
    if (typeof x !== "string") throw invalidArgument(`${key}[${i}]`, `must be a string, not ${typeName(x)}`);
  });
  return v as string[];
}

function stepsOf(v: unknown): Array<Record<string, string>> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalidArgument("steps", `must be an array of objects, not ${typeName(v)}`);
  return v.map((step, i) => {
    if (typeof step !== "object" || step === null || Array.isArray(step)) {
      throw invalidArgument(`steps[${i}]`, "must be an object of strings");
    }
    for (const [k, x] of Object.entries(step)) {
      if (typeof x !== "string")
        throw invalidArgument(`steps[${i}].${k}`, `must be a string, not ${typeName(x)}`);
    }
    return step as Record<string, string>;
  });
}

function headers(v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v))
    throw invalidArgument("branch_headers", "must be an object of strings");
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== "string")
      throw invalidArgument(`branch_headers.${k}`, `must be a string, not ${typeName(x)}`);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k))
      throw invalidArgument(`branch_headers.${k}`, "is not a valid header name");
    if (/[\r\n\0]/.test(x)) throw invalidArgument(`branch_headers.${k}`, "contains a control character");
  }
  return v as Record<string, string>;
}

function typeName(v: unknown): string {
  return Array.isArray(v) ? "an array" : v === null ? "null" : `a ${typeof v}`;
}
