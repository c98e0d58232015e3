import { UNFINISHED, type NewBranch, type TransRecord, type TransStatus } from "../core/model";
import type { InsertedTrans, PassWrite, StatusChange } from "../core/repository";
import { encodeSettings } from "../core/registry";
import type { Queryable } from "./queryable";
import { encodeOptions, toTrans, type TransRow } from "./rows";

/** A transaction to create, with its branch rows. */
export interface NewTransRows {
  trans: TransRecord;
  branches: NewBranch[];
}

/**
 * Inserts transactions and all their branch rows in one statement (one commit), each unless its gid
 * exists (gids within one call must differ). Answers per transaction the new ids (branch ids in the
 * order given), or null when the gid was taken.
 */
export async function insertTrans(
  db: Queryable,
  items: NewTransRows[],
): Promise<Array<InsertedTrans | null>> {
  const ts = items.map((i) => i.trans);
  const bs = items.flatMap((i) => i.branches.map((b) => ({ gid: i.trans.gid, ...b })));
  const { rows } = await db.query<{ gid: string; id: string; branch_ids: string[] | null }>(
    "insertTrans",
    `with t as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
         $8::timestamptz[], $9::timestamptz[], $10::bigint[], $11::text[], $17::text[])
         as t(gid, trans_type, status, protocol, query_prepared, custom_data, options, now, next_cron_time,
           interval_ms, owner, trace_context)
     ), g as (
       insert into trans_global (gid, trans_type, status, protocol, query_prepared, custom_data, options,
         create_time, update_time, next_cron_time, next_cron_interval_ms, owner, trace_context)
       select gid, trans_type, status, protocol, query_prepared, custom_data, options, now, now, next_cron_time,
         interval_ms, owner, trace_context
       from t
       on conflict (gid) do nothing
       returning id, gid
     ), b as (
       insert into trans_branch_op (gid, branch_id, op, url, bin_data, status, create_time, update_time)
       select x.gid, x.branch_id, x.op, x.url, x.bin_data, 'prepared', t.now, t.now
       from unnest($12::text[], $13::text[], $14::text[], $15::text[], $16::bytea[])
         with ordinality as x(gid, branch_id, op, url, bin_data, n)
       join g on g.gid = x.gid
       join t on t.gid = x.gid
       order by x.n
       returning id, gid
     )
     select g.gid, g.id, (select array_agg(b.id order by b.id) from b where b.gid = g.gid) as branch_ids from g`,
    [
      ts.map((t) => t.gid),
      ts.map((t) => t.transType),
      ts.map((t) => t.status),
      ts.map((t) => t.protocol),
      ts.map((t) => t.queryPrepared),
      ts.map((t) => encodeSettings(t.settings)),
      ts.map((t) => encodeOptions(t.options)),
      ts.map((t) => t.createTime),
      ts.map((t) => t.nextCronTime),
      ts.map((t) => t.nextCronIntervalMs),
      ts.map((t) => t.owner),
      bs.map((b) => b.gid),
      bs.map((b) => b.branchId),
      bs.map((b) => b.op),
      bs.map((b) => b.url),
      bs.map((b) => b.payload),
      ts.map((t) => t.traceContext ?? ""),
    ],
  );
  const byGid = new Map(rows.map((r) => [r.gid, { id: r.id, branchIds: r.branch_ids ?? [] }]));
  return ts.map((t) => byGid.get(t.gid) ?? null);
}

/** One transaction by gid, or null. */
export async function findTrans(db: Queryable, gid: string): Promise<TransRecord | null> {
  const { rows } = await db.query<TransRow>("findTrans", "select * from trans_global where gid = $1", [gid]);
  return rows[0] ? toTrans(rows[0]) : null;
}

/**
 * Takes the lease of one transaction if its status is one of `statuses` and no live lease holds it
 * (a duplicate submit re-drives it). A fresh owner makes any older pass's write lose its
 * compare-and-set.
 */
export async function claimByGid(
  db: Queryable,
  gid: string,
  statuses: readonly TransStatus[],
  owner: string,
  now: Date,
  leaseUntil: Date,
): Promise<TransRecord | null> {
  const { rows } = await db.query<TransRow>(
    "claimByGid",
    `update trans_global set owner = $3, next_cron_time = $5, update_time = $4
     where gid = $1 and status = any($2::text[]) and (owner = '' or next_cron_time <= $4)
     returning *`,
    [gid, statuses, owner, now, leaseUntil],
  );
  return rows[0] ? toTrans(rows[0]) : null;
}

/**
 * Writes passes' outcomes — global status, retry schedule, and every branch the pass changed or
 * called (status, attempts, last answer) — in one statement (one commit), each if its owner still holds the transaction in the status the pass
 * began with (gids within one call must differ). Answers per write whether it won; false when the
 * compare-and-set lost (another coordinator or a force-stop won).
 */
export async function savePass(db: Queryable, writes: PassWrite[]): Promise<boolean[]> {
  const bs = writes.flatMap((w) => w.branches.map((b) => ({ gid: w.gid, now: w.now, ...b })));
  const { rows } = await db.query<{ gid: string }>(
    "savePass",
    `with w as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
         $7::timestamptz[], $8::timestamptz[], $9::bigint[])
         as w(gid, from_status, owner, owner_after, to_status, reason, now, next_cron_time, interval_ms)
     ), g as (
       update trans_global t set
         status = w.to_status,
         rollback_reason = case when w.reason = '' then t.rollback_reason else w.reason end,
         update_time = w.now,
         finish_time = case when w.to_status = 'succeed' then w.now else t.finish_time end,
         rollback_time = case when w.to_status = 'failed' then w.now else t.rollback_time end,
         next_cron_time = w.next_cron_time,
         next_cron_interval_ms = w.interval_ms,
         owner = w.owner_after
       from w
       where t.gid = w.gid and t.status = w.from_status and t.owner = w.owner
       returning t.gid
     ), b as (
       update trans_branch_op o set
         status = x.status,
         finish_time = case when x.status = o.status then o.finish_time else x.now end,
         update_time = x.now,
         attempts = o.attempts + x.calls,
         last_outcome = coalesce(x.outcome, o.last_outcome),
         last_code = coalesce(x.code, o.last_code),
         last_answer = coalesce(x.answer, o.last_answer),
         last_call_time = coalesce(x.called, o.last_call_time)
       from unnest($10::bigint[], $11::text[], $12::text[], $13::timestamptz[], $14::int[], $15::text[],
         $16::text[], $17::text[], $18::timestamptz[])
         as x(id, gid, status, now, calls, outcome, code, answer, called)
       where o.id = x.id and x.gid in (select gid from g)
       returning o.id
     )
     select gid from g`,
    [
      writes.map((w) => w.gid),
      writes.map((w) => w.fromStatus),
      writes.map((w) => w.owner),
      writes.map((w) => w.ownerAfter),
      writes.map((w) => w.toStatus),
      writes.map((w) => w.rollbackReason),
      writes.map((w) => w.now),
      writes.map((w) => w.nextCronTime),
      writes.map((w) => w.nextCronIntervalMs),
      bs.map((b) => b.id),
      bs.map((b) => b.gid),
      bs.map((b) => b.status),
      bs.map((b) => b.now),
      bs.map((b) => b.calls),
      bs.map((b) => b.lastAnswer?.outcome ?? null),
      bs.map((b) => b.lastAnswer?.code ?? null),
      bs.map((b) => b.lastAnswer?.text ?? null),
      bs.map((b) => b.lastAnswer?.at ?? null),
    ],
  );
  const won = new Set(rows.map((r) => r.gid));
  return writes.map((w) => won.has(w.gid));
}

/**
 * Moves the lease of a transaction this owner holds: forward to cover a long pass, or to now to
 * hand it to another coordinator (graceful stop). False when the owner no longer holds it.
 */
export async function setLease(db: Queryable, gid: string, owner: string, until: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    "setLease",
    "update trans_global set next_cron_time = $3 where gid = $1 and owner = $2 and status = any($4::text[])",
    [gid, owner, until, UNFINISHED],
  );
  return rowCount === 1;
}

/**
 * Changes the status of one transaction if it is in one of `from` (compare-and-set), whoever holds
 * its lease. A final status frees the lease and clears the next look; otherwise a given lease is
 * taken (owner and next look), else both are kept. Given settings replace the stored ones.
 */
export async function changeStatus(db: Queryable, c: StatusChange): Promise<TransRecord | null> {
  const { rows } = await db.query<TransRow>(
    "changeStatus",
    `update trans_global set
       status = $3::text,
       rollback_reason = case when $4::text = '' then rollback_reason else $4::text end,
       result = coalesce($8::text, result),
       update_time = $5::timestamptz,
       finish_time = case when $3::text = 'succeed' then $5::timestamptz else finish_time end,
       rollback_time = case when $3::text = 'failed' then $5::timestamptz else rollback_time end,
       owner = case when $3::text in ('succeed', 'failed') then '' else coalesce($6::text, owner) end,
       next_cron_time = case when $3::text in ('succeed', 'failed') then null
         else coalesce($7::timestamptz, next_cron_time) end,
       custom_data = coalesce($9::text, custom_data)
     where gid = $1 and status = any($2::text[])
     returning *`,
    [
      c.gid,
      c.from,
      c.to,
      c.rollbackReason,
      c.now,
      c.lease?.owner ?? null,
      c.lease?.until ?? null,
      c.result ?? null,
      c.settings ? encodeSettings(c.settings) : null,
    ],
  );
  return rows[0] ? toTrans(rows[0]) : null;
}

/**
 * Makes one unfinished transaction due at `at`, whoever holds its lease (an expired lease is free to
 * claim, so a pass still running loses its write to the next claim). Null when the gid is unknown
 * or the transaction finished.
 */
export async function makeDue(db: Queryable, gid: string, at: Date): Promise<TransRecord | null> {
  const { rows } = await db.query<TransRow>(
    "makeDue",
    `update trans_global set next_cron_time = $2, update_time = $2
     where gid = $1 and status = any($3::text[])
     returning *`,
    [gid, at, UNFINISHED],
  );
  return rows[0] ? toTrans(rows[0]) : null;
}

/**
 * Makes due at `now` up to `limit` unfinished transactions whose next look is after `after`, the
 * furthest first; reports how many, and whether more such transactions were left. The statement is
 * `dtx_make_delayed_due` (migration 8: the limit's rows of trans_global_due, whatever the table's
 * statistics).
 */
export async function makeDelayedDue(
  db: Queryable,
  after: Date,
  now: Date,
  limit: number,
): Promise<{ count: number; hasRemaining: boolean }> {
  const { rows } = await db.query<{ made: string; candidates: string }>(
    "makeDelayedDue",
    "select made, candidates from dtx_make_delayed_due($1, $2, $3)",
    [after, now, limit],
  );
  const r = rows[0]!;
  return { count: Number(r.made), hasRemaining: Number(r.candidates) > limit };
}

/** The database server's clock. */
export async function dbNow(db: Queryable): Promise<Date> {
  const { rows } = await db.query<{ now: Date }>("dbNow", "select now() as now");
  return rows[0]!.now;
}
