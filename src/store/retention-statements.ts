import type { Queryable } from "./queryable";

/** The advisory lock one deleting coordinator holds for the length of its statement ("dtx_ret"). */
const RETENTION_LOCK = "28548152316769652";

/** What one batch of `deleteFinished` did. */
export interface DeletedFinished {
  /** Whether this coordinator held the retention lock (another one deleting now: false, nothing removed). */
  locked: boolean;
  transactions: number;
  branches: number;
}

/**
 * Deletes up to `limit` finished transactions (succeed or failed) last written before `before`, with
 * their branch rows, in one statement (one commit) — oldest first, through the partial index of
 * finished rows. The statement takes a transaction-scoped advisory lock first: while one coordinator
 * deletes, another's batch removes nothing. An unfinished transaction is never touched, and rows another
 * statement has locked are skipped.
 */
export async function deleteFinished(db: Queryable, before: Date, limit: number): Promise<DeletedFinished> {
  const { rows } = await db.query<{ locked: boolean; transactions: string; branches: string }>(
    "deleteFinished",
    `with lock as (select pg_try_advisory_xact_lock(${RETENTION_LOCK}) as locked),
     victims as (
       select id, gid from trans_global
       where status in ('succeed', 'failed') and update_time < $1 and (select locked from lock)
       order by update_time
       limit $2
       for update skip locked
     ), b as (
       delete from trans_branch_op where gid in (select gid from victims) returning 1
     ), g as (
       delete from trans_global where id in (select id from victims) returning 1
     )
     select (select locked from lock) as locked, (select count(*) from g) as transactions,
       (select count(*) from b) as branches`,
    [before, limit],
  );
  const r = rows[0]!;
  return { locked: r.locked, transactions: Number(r.transactions), branches: Number(r.branches) };
}
