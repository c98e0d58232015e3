import type {
  BranchAnswer,
  BranchFailure,
  BranchRecord,
  BranchStatus,
  Protocol,
  TransOptions,
  TransRecord,
  TransStatus,
  TransType,
} from "../core/model";
import { defaultOptions } from "../core/model";
import { decodeSettings } from "../core/registry";

/** The columns of `trans_global` as pg returns them. */
export interface TransRow {
  id: string;
  gid: string;
  trans_type: string;
  status: string;
  protocol: string;
  query_prepared: string;
  /** The kind's settings as it encodes them (a saga: dtm's custom_data JSON). */
  custom_data: string;
  options: string;
  result: string;
  rollback_reason: string;
  create_time: Date;
  update_time: Date;
  finish_time: Date | null;
  rollback_time: Date | null;
  next_cron_time: Date | null;
  next_cron_interval_ms: string;
  owner: string;
  trace_context: string;
}

/** The columns of `trans_branch_op` as pg returns them. */
export interface BranchRow {
  id: string;
  gid: string;
  branch_id: string;
  op: string;
  url: string;
  bin_data: Buffer;
  status: string;
  create_time: Date;
  update_time: Date;
  finish_time: Date | null;
  attempts: number;
  last_outcome: string;
  last_code: string;
  last_answer: string;
  last_call_time: Date | null;
}

/**
 * A `trans_branch_op` row as JSON (a claim's branches): the id as text (and as a number, `n`, to
 * order by), timestamps as ISO text, bin_data in base64.
 */
export type BranchJson = Omit<
  BranchRow,
  "bin_data" | "create_time" | "update_time" | "finish_time" | "last_call_time"
> & {
  n: number;
  bin_data: string;
  create_time: string;
  update_time: string;
  finish_time: string | null;
  last_call_time: string | null;
};

/** A branch row given as JSON, with the types pg gives its columns. */
export function branchFromJson({ n: _order, ...j }: BranchJson): BranchRow {
  return {
    ...j,
    bin_data: Buffer.from(j.bin_data, "base64"),
    create_time: new Date(j.create_time),
    update_time: new Date(j.update_time),
    finish_time: j.finish_time === null ? null : new Date(j.finish_time),
    last_call_time: j.last_call_time === null ? null : new Date(j.last_call_time),
  };
}

/** Options as stored in the `options` column (JSON, durations in ms). */
export function encodeOptions(o: TransOptions): string {
  return JSON.stringify(o);
}

function decodeOptions(text: string): TransOptions {
  const parsed = JSON.parse(text || "{}") as Partial<TransOptions>;
  return { ...defaultOptions(), ...parsed };
}

/** A `trans_global` row as the core's record. */
export function toTrans(r: TransRow): TransRecord {
  return {
    id: r.id,
    gid: r.gid,
    transType: r.trans_type as TransType,
    status: r.status as TransStatus,
    protocol: r.protocol as Protocol,
    queryPrepared: r.query_prepared,
    settings: decodeSettings(r.trans_type, r.custom_data),
    options: decodeOptions(r.options),
    rollbackReason: r.rollback_reason,
    result: r.result,
    createTime: r.create_time,
    updateTime: r.update_time,
    finishTime: r.finish_time,
    rollbackTime: r.rollback_time,
    nextCronTime: r.next_cron_time,
    nextCronIntervalMs: Number(r.next_cron_interval_ms),
    owner: r.owner,
    ...(r.trace_context ? { traceContext: r.trace_context } : {}),
  };
}

/** A `trans_branch_op` row as the core's record. */
export function toBranch(r: BranchRow): BranchRecord {
  return {
    id: r.id,
    gid: r.gid,
    branchId: r.branch_id,
    op: r.op,
    url: r.url,
    payload: r.bin_data,
    status: r.status as BranchStatus,
    createTime: r.create_time,
    updateTime: r.update_time,
    finishTime: r.finish_time,
    attempts: r.attempts,
    lastAnswer: r.last_call_time
      ? {
          outcome: r.last_outcome as BranchAnswer["outcome"],
          code: r.last_code,
          text: r.last_answer,
          at: r.last_call_time,
        }
      : null,
  };
}

/** The last-failure columns a listing adds to each transaction (all null when there is none). */
export interface FailureColumns {
  f_branch_id: string | null;
  f_op: string | null;
  f_url: string | null;
  f_attempts: number | null;
  f_outcome: string | null;
  f_code: string | null;
  f_answer: string | null;
  f_call_time: Date | null;
}

/** A listing's last-failure columns as the core's record. */
export function toFailure(r: FailureColumns): BranchFailure | null {
  if (r.f_call_time === null || r.f_branch_id === null) return null;
  return {
    branchId: r.f_branch_id,
    op: r.f_op ?? "",
    url: r.f_url ?? "",
    attempts: r.f_attempts ?? 0,
    answer: {
      outcome: r.f_outcome as BranchAnswer["outcome"],
      code: r.f_code ?? "",
      text: r.f_answer ?? "",
      at: r.f_call_time,
    },
  };
}
