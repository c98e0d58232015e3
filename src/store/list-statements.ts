import type { ListFilter, TransPage } from "../core/repository";
import type { Queryable } from "./queryable";
import { toTrans, type TransRow } from "./rows";

/**
 * A page of transactions, newest first, and the cursor of the next page ("" on the last page: one
 * row more than the page is read to know).
 */
export async function listTrans(db: Queryable, f: ListFilter): Promise<TransPage> {
  const { rows } = await db.query<TransRow>(
    "listTrans",
    `select * from trans_global
     where ($1::bigint is null or id < $1)
       and ($2::text is null or status = $2)
       and ($3::text is null or trans_type = $3)
       and ($4::timestamptz is null or create_time >= $4)
       and ($5::timestamptz is null or create_time <= $5)
       and ($7::text is null or starts_with(gid, $7))
     order by id desc
     limit $6`,
    [
      f.beforeId ?? null,
      f.status ?? null,
      f.transType ?? null,
      f.createdFrom ?? null,
      f.createdTo ?? null,
      f.limit + 1,
      f.gidPrefix ?? null,
    ],
  );
  const transactions = rows.slice(0, f.limit).map(toTrans);
  return { transactions, next: rows.length > f.limit ? transactions[transactions.length - 1]!.id : "" };
}
