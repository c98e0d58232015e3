import type { ListFilter, TransPage } from "../core/repository";
import type { Queryable } from "./queryable";
import { toFailure, toTrans, type FailureColumns, type TransRow } from "./rows";

/**
 * A page of transactions, newest first, and the cursor of the next page ("" on the last page: one
 * row more than the page is read to know). Each carries its last failure: of its branches whose
 * last answer was not SUCCESS, the one called last (one index lookup by gid per row).
 */
export async function listTrans(db: Queryable, f: ListFilter): Promise<TransPage> {
  const { rows } = await db.query<TransRow & FailureColumns>(
    "listTrans",
    `select t.*, f.branch_id as f_branch_id, f.op as f_op, f.url as f_url, f.attempts as f_attempts,
       f.last_outcome as f_outcome, f.last_code as f_code, f.last_answer as f_answer,
       f.last_call_time as f_call_time
     from trans_global t
     left join lateral (
       select branch_id, op, url, attempts, last_outcome, last_code, last_answer, last_call_time
       from trans_branch_op o
       where o.gid = t.gid and o.last_call_time is not null and o.last_outcome <> 'SUCCESS'
       order by o.last_call_time desc, o.id desc
       limit 1
     ) f on true
     where ($1::bigint is null or t.id < $1)
       and ($2::text[] is null or t.status = any($2))
       and ($3::text is null or t.trans_type = $3)
       and ($4::timestamptz is null or t.create_time >= $4)
       and ($5::timestamptz is null or t.create_time <= $5)
       and ($7::text is null or starts_with(t.gid, $7))
     order by t.id desc
     limit $6`,
    [
      f.beforeId ?? null,
      f.statuses ?? null,
      f.transType ?? null,
      f.createdFrom ?? null,
      f.createdTo ?? null,
      f.limit + 1,
      f.gidPrefix ?? null,
    ],
  );
  const transactions = rows.slice(0, f.limit).map((r) => ({ ...toTrans(r), lastFailure: toFailure(r) }));
  return { transactions, next: rows.length > f.limit ? transactions[transactions.length - 1]!.id : "" };
}
