import type { BranchRecord, NewBranch, NewTrans, TransRecord, TransStatus } from "./model";
import type { InsertedTrans } from "./repository";
import { baseInterval } from "./retry-policy";
import { currentTraceContext } from "./trace-context";
import type { DueSettings, TransKind } from "./trans-kind";

/**
 * A new transaction as it is inserted: `status` as the creating verb says, leased to `owner` when
 * the creating process drives it at once (else `owner` is ''), first due when its kind says.
 */
export function newRecord(
  t: NewTrans,
  kind: TransKind,
  status: TransStatus,
  owner: string,
  now: Date,
  due: DueSettings,
): TransRecord {
  const trans: TransRecord = {
    id: "",
    gid: t.gid,
    transType: t.definition.kind,
    status,
    protocol: t.protocol,
    queryPrepared: t.queryPrepared,
    settings: kind.settingsOf(t.definition),
    options: t.options,
    rollbackReason: "",
    result: "",
    createTime: now,
    updateTime: now,
    finishTime: null,
    rollbackTime: null,
    nextCronTime: null,
    nextCronIntervalMs: baseInterval(due.retry, t.options),
    owner,
  };
  trans.nextCronTime = kind.firstDue(trans, due);
  const traceContext = currentTraceContext();
  if (traceContext) trans.traceContext = traceContext;
  return trans;
}

/** The rows of a transaction just inserted, as stored (no read back: the insert returned their ids). */
export function insertedRows(
  trans: TransRecord,
  branches: NewBranch[],
  inserted: InsertedTrans,
): BranchRecord[] {
  // every field written out: one object shape for every row (a spread of `b` showed in the profile)
  return branches.map((b, i) => ({
    id: inserted.branchIds[i]!,
    gid: trans.gid,
    branchId: b.branchId,
    op: b.op,
    url: b.url,
    payload: b.payload,
    status: "prepared",
    createTime: trans.createTime,
    updateTime: trans.createTime,
    finishTime: null,
    attempts: 0,
    lastAnswer: null,
  }));
}
