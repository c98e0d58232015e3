import type { BranchRecord, NewBranch, TransRecord, TransStatus } from "../core/model";
import type { Queryable } from "./queryable";
import { encodeOptions, toBranch, toTrans, type BranchRow, type TransRow } from "./rows";

/** Unfinished statuses: the ones the recovery worker looks at. */
const UNFINISHED = ["prepared", "submitted", "aborting"];

/**
 * Inserts a transaction and all its branch rows in one statement (one commit), unless the gid
 * exists. Returns the new ids (branch ids in the order given), or null when the gid was taken.
 */
export async function insertTrans(
  db: Queryable,
  t: TransRecord,
  branches: NewBranch[],
): Promise<{ id: string; branchIds: string[] } | null> {
  const { rows } = await db.query<{ id: string | null; branch_ids: string[] | null }>(
    `with g as (
       insert into trans_global (gid, trans_type, status, protocol, query_prepared, custom_data, options,
         create_time, update_time, next_cron_time, next_cron_interval_ms, owner)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11)
       on conflict (gid) do nothing
       returning id
     ), b as (
       insert into trans_branch_op (gid, branch_id, op, url, bin_data, status, create_time, update_time)
       select $1, x.branch_id, x.op, x.url, x.bin_data, 'prepared', $8, $8
       from unnest($12::text[], $13::text[], $14::text[], $15::bytea[]) with ordinality as x(branch_id, op, url, bin_data, n)
       where exists (select 1 from g)
       order by x.n
       returning id
     )
     select (select id from g) as id, (select array_agg(id order by id) from b) as branch_ids`,
    [
      t.gid,
      t.transType,
      t.status,
      t.protocol,
      t.queryPrepared,
      t.customData,
      encodeOptions(t.options),
      t.createTime,
      t.nextCronTime,
      t.nextCronIntervalMs,
      t.owner,
      branches.map((b) => b.branchId),
      branches.map((b) => b.op),
      branches.map((b) => b.url),
      branches.map((b) => b.payload),
    ],
  );
  const row = rows[0];
  return row?.id ? { id: row.id, branchIds: row.branch_ids ?? [] } : null;
}

/** One transaction by gid, or null. */
export async function findTrans(db: Queryable, gid: string): Promise<TransRecord | null> {
  const { rows } = await db.query<TransRow>("select * from trans_global where gid = $1", [gid]);
  return rows[0] ? toTrans(rows[0]) : null;
}

/** The branch rows of several transactions, in insertion order. */
export async function findBranches(db: Queryable, gids: string[]): Promise<BranchRecord[]> {
  const { rows } = await db.query<BranchRow>(
    "select * from trans_branch_op where gid = any($1::text[]) order by id",
    [gids],
  );
  return rows.map(toBranch);
}

/**
 * Takes the lease of one transaction if its status is one of `statuses` and no live lease holds it
 * (a duplicate submit re-drives it). A fresh owner makes any older pass's write lose its
 * compare-and-set.
 */
export async function claimByGid(
  db: Queryable,
  gid: string,
  statuses: TransStatus[],
  owner: string,
  now: Date,
  leaseUntil: Date,
): Promise<TransRecord | null> {
  const { rows } = await db.query<TransRow>(
    `update trans_global set owner = $3, next_cron_time = $5, update_time = $4
     where gid = $1 and status = any($2::text[]) and (owner = '' or next_cron_time <= $4)
     returning *`,
    [gid, statuses, owner, now, leaseUntil],
  );
  return rows[0] ? toTrans(rows[0]) : null;
}

/**
 * Claims up to `limit` due unfinished transactions for one owner, skipping rows another
 * coordinator is claiming at the same moment, and extends their lease to `leaseUntil`.
 */
export async function claimDue(
  db: Queryable,
  owner: string,
  now: Date,
  dueBefore: Date,
  leaseUntil: Date,
  limit: number,
): Promise<TransRecord[]> {
  const { rows } = await db.query<TransRow>(
    `update trans_global set owner = $1, next_cron_time = $4, update_time = $2
     where id in (
       select id from trans_global
       where status = any($6::text[]) and next_cron_time <= $3
       order by next_cron_time
       limit $5
       for update skip locked)
     returning *`,
    [owner, now, dueBefore, leaseUntil, limit, UNFINISHED],
  );
  return rows.map(toTrans);
}

/** The result of one pass, written at its end. */
export interface PassWrite {
  gid: string;
  owner: string;
  /** The owner afterwards: the same while the pass goes on, '' when it ends (the lease is free). */
  ownerAfter: string;
  fromStatus: TransStatus;
  toStatus: TransStatus;
  rollbackReason: string;
  now: Date;
  /** Null for a final status. */
  nextCronTime: Date | null;
  nextCronIntervalMs: number;
  branches: Array<{ id: string; status: string }>;
}

/**
 * Writes a pass's outcome — global status, retry schedule and every changed branch status — in one
 * statement (one commit), if this owner still holds the transaction in the status the pass began
 * with. Returns false when the compare-and-set lost (another coordinator or a force-stop won).
 */
export async function savePass(db: Queryable, w: PassWrite): Promise<boolean> {
  const { rows } = await db.query<{ n: string }>(
    `with g as (
       update trans_global set
         status = $4::text,
         rollback_reason = case when $5::text = '' then rollback_reason else $5::text end,
         update_time = $6::timestamptz,
         finish_time = case when $4::text = 'succeed' then $6::timestamptz else finish_time end,
         rollback_time = case when $4::text = 'failed' then $6::timestamptz else rollback_time end,
         next_cron_time = $7,
         next_cron_interval_ms = $8,
         owner = $11
       where gid = $1 and status = $2 and owner = $3
       returning id
     ), b as (
       update trans_branch_op o set status = x.status, finish_time = $6, update_time = $6
       from unnest($9::bigint[], $10::text[]) as x(id, status)
       where o.id = x.id and exists (select 1 from g)
       returning o.id
     )
     select count(*) as n from g`,
    [
      w.gid,
      w.fromStatus,
      w.owner,
      w.toStatus,
      w.rollbackReason,
      w.now,
      w.nextCronTime,
      w.nextCronIntervalMs,
      w.branches.map((b) => b.id),
      w.branches.map((b) => b.status),
      w.ownerAfter,
    ],
  );
  return Number(rows[0]?.n ?? 0) === 1;
}

/**
 * Moves the lease of a transaction this owner holds: forward to cover a long pass, or to now to
 * hand it to another coordinator (graceful stop). False when the owner no longer holds it.
 */
export async function setLease(db: Queryable, gid: string, owner: string, until: Date): Promise<boolean> {
  const { rowCount } = await db.query(
    "update trans_global set next_cron_time = $3 where gid = $1 and owner = $2 and status = any($4::text[])",
    [gid, owner, until, UNFINISHED],
  );
  return rowCount === 1;
}

/** Filters of a transaction listing; `beforeId` is the cursor (the smallest id of the previous page). */
export interface ListFilter {
  beforeId?: string;
  limit: number;
  status?: string;
  transType?: string;
  createdFrom?: Date;
  createdTo?: Date;
}

/** A page of transactions, newest first. */
export async function listTrans(db: Queryable, f: ListFilter): Promise<TransRecord[]> {
  const { rows } = await db.query<TransRow>(
    `select * from trans_global
     where ($1::bigint is null or id < $1)
       and ($2::text is null or status = $2)
       and ($3::text is null or trans_type = $3)
       and ($4::timestamptz is null or create_time >= $4)
       and ($5::timestamptz is null or create_time <= $5)
     order by id desc
     limit $6`,
    [
      f.beforeId ?? null,
      f.status ?? null,
      f.transType ?? null,
      f.createdFrom ?? null,
      f.createdTo ?? null,
      f.limit,
    ],
  );
  return rows.map(toTrans);
}

/** The database server's clock. */
export async function dbNow(db: Queryable): Promise<Date> {
  const { rows } = await db.query<{ now: Date }>("select now() as now");
  return rows[0]!.now;
}
