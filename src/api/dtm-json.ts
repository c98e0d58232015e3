import type {
  BranchFailure,
  BranchRecord,
  TransOptions,
  TransRecord,
  TransSettings,
  TransType,
} from "../core/model";
import { dtmMsgConcurrent, dtmMsgCustomData } from "./dtm-msg";
import { dtmSagaCustomData } from "./dtm-saga";
import { dtmWorkflowCustomData } from "./dtm-workflow";

/**
 * dtm's stored-object JSON shapes (TransGlobalStore, TransBranchStore) as the query and all routes
 * return them: snake_case keys, RFC 3339 times, omit-if-empty fields, `concurrent` always present,
 * option durations in seconds.
 */

function time(d: Date | null): string | null {
  return d ? d.toISOString() : null;
}

function secs(ms: number): number {
  return Math.round(ms / 1000);
}

/** The `options` text dtm stores: the option fields in seconds, `concurrent` always present. */
export function dtmOptionsText(o: TransOptions, concurrent: boolean): string {
  return JSON.stringify({
    ...omitEmpty({
      wait_result: o.waitResult,
      timeout_to_fail: secs(o.timeoutToFailMs),
      request_timeout: secs(o.requestTimeoutMs),
      retry_interval: secs(o.retryIntervalMs),
      branch_headers: Object.keys(o.branchHeaders).length ? o.branchHeaders : undefined,
      retry_limit: o.retryLimit,
      retry_count: o.retryCount,
    }),
    concurrent,
  });
}

/** Each kind's `custom_data` text from its settings: one entry per kind, no switch on the kind. */
const customData: Partial<Record<TransType, (s: TransSettings) => string>> = {
  saga: dtmSagaCustomData,
  msg: dtmMsgCustomData,
  workflow: dtmWorkflowCustomData,
};

/** dtm's `concurrent` key: a message's delivery mode (a saga's lives in its custom_data). */
const concurrentOf: Partial<Record<TransType, (s: TransSettings) => boolean>> = { msg: dtmMsgConcurrent };

/** A transaction as dtm's TransGlobalStore JSON. */
export function dtmTransJson(t: TransRecord): Record<string, unknown> {
  const concurrent = concurrentOf[t.transType]?.(t.settings) ?? false;
  return {
    id: Number(t.id),
    create_time: time(t.createTime),
    update_time: time(t.updateTime),
    ...omitEmpty({
      gid: t.gid,
      trans_type: t.transType,
      status: t.status,
      query_prepared: t.queryPrepared,
      protocol: t.protocol,
      finish_time: time(t.finishTime),
      rollback_time: time(t.rollbackTime),
      result: t.result,
      rollback_reason: t.rollbackReason,
      options: dtmOptionsText(t.options, concurrent),
      custom_data: customData[t.transType]?.(t.settings) ?? "",
      next_cron_interval: secs(t.nextCronIntervalMs),
      next_cron_time: time(t.nextCronTime),
      owner: t.owner,
      last_failure: t.lastFailure ? dtmFailureJson(t.lastFailure) : undefined,
    }),
    concurrent,
  };
}

/**
 * Why a transaction is where it is (dtx's addition to dtm's shape): of its branches whose last
 * answer was not SUCCESS, the one called last, with its attempts and that answer.
 */
function dtmFailureJson(f: BranchFailure): Record<string, unknown> {
  return {
    branch_id: f.branchId,
    op: f.op,
    url: f.url,
    attempts: f.attempts,
    last_outcome: f.answer.outcome,
    last_code: f.answer.code,
    last_answer: f.answer.text,
    last_call_time: time(f.answer.at),
  };
}

/** A branch operation as dtm's TransBranchStore JSON (`bin_data` in base64). */
export function dtmBranchJson(b: BranchRecord): Record<string, unknown> {
  return {
    id: Number(b.id),
    create_time: time(b.createTime),
    update_time: time(b.updateTime),
    ...omitEmpty({
      gid: b.gid,
      url: b.url,
      bin_data: b.payload.length ? b.payload.toString("base64") : "",
      branch_id: b.branchId,
      op: b.op,
      status: b.status,
      finish_time: time(b.finishTime),
      // dtx's additions: how often it was called, and its last answer
      attempts: b.attempts,
      last_outcome: b.lastAnswer?.outcome,
      last_code: b.lastAnswer?.code,
      last_answer: b.lastAnswer?.text,
      last_call_time: time(b.lastAnswer?.at ?? null),
    }),
  };
}

/** Drops Go's "empty" values: "", 0, false, null, undefined. */
function omitEmpty(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== "" && v !== 0 && v !== false && v != null),
  );
}
