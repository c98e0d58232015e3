/**
 * The barrier's SQL, one exported function per statement (Postgres, and PGlite through its
 * node-postgres adapter). The table name is checked by {@link checkTableName} before it reaches any
 * statement text.
 */
import type { ClientBase, Pool } from "pg";

/** Something that runs a statement: a pool (autocommit) or a client (possibly inside a transaction). */
export type Queryable = Pick<Pool | ClientBase, "query">;

/** One barrier row's key and what wrote it. */
export interface BarrierRow {
  transType: string;
  gid: string;
  branchId: string;
  op: string;
  barrierId: string;
  /** The op whose call wrote the row. */
  reason: string;
}

/**
 * A barrier table name: `table` or `schema.table`, letters, digits and underscores.
 *
 * @example
 * checkTableName("dtm_barrier.barrier");
 * @throws TypeError when the name could not be used as an SQL identifier as it is
 */
export function checkTableName(table: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) {
    throw new TypeError(`barrier table: ${JSON.stringify(table)} is not a [schema.]table name`);
  }
  return table;
}

/** Inserts the row unless its key is taken; resolves with the number of rows written (0 or 1). */
export async function insertBarrier(db: Queryable, table: string, r: BarrierRow): Promise<number> {
  const res = await db.query(
    `insert into ${table} (trans_type, gid, branch_id, op, barrier_id, reason, create_time, update_time)
     values ($1, $2, $3, $4, $5, $6, now(), now())
     on conflict (gid, branch_id, op, barrier_id) do nothing`,
    [r.transType, r.gid, r.branchId, r.op, r.barrierId, r.reason],
  );
  return res.rowCount ?? 0;
}

/** The reason of one row, undefined when there is none. */
export async function selectBarrierReason(
  db: Queryable,
  table: string,
  key: Omit<BarrierRow, "reason" | "transType">,
): Promise<string | undefined> {
  const res = await db.query<{ reason: string }>(
    `select reason from ${table} where gid = $1 and branch_id = $2 and op = $3 and barrier_id = $4`,
    [key.gid, key.branchId, key.op, key.barrierId],
  );
  return res.rows[0]?.reason;
}

/** Creates the schema of a `schema.table` name if missing. */
export async function createBarrierSchema(db: Queryable, schema: string): Promise<void> {
  await db.query(`create schema if not exists ${schema}`);
}

/** Creates the barrier table if missing: dtm's columns and its unique key `uniq_barrier`. */
export async function createBarrierTable(db: Queryable, table: string): Promise<void> {
  await db.query(
    `create table if not exists ${table} (
       id bigserial primary key,
       trans_type varchar(45) default '',
       gid varchar(128) default '',
       branch_id varchar(128) default '',
       op varchar(45) default '',
       barrier_id varchar(45) default '',
       reason varchar(45) default '',
       create_time timestamp(0) with time zone default null,
       update_time timestamp(0) with time zone default null,
       constraint uniq_barrier unique (gid, branch_id, op, barrier_id)
     )`,
  );
}

/** Starts a transaction on the client. */
export async function begin(db: Queryable): Promise<void> {
  await db.query("begin");
}

/** Commits the client's transaction. */
export async function commit(db: Queryable): Promise<void> {
  await db.query("commit");
}

/** Rolls the client's transaction back. */
export async function rollback(db: Queryable): Promise<void> {
  await db.query("rollback");
}

/** Bounds how long the current transaction's next statements wait for a row lock. */
export async function setLocalLockTimeout(db: Queryable, ms: number): Promise<void> {
  await db.query(`set local lock_timeout = ${Math.max(1, Math.floor(ms))}`);
}

/** Lifts the bound of {@link setLocalLockTimeout} for the rest of the transaction. */
export async function resetLocalLockTimeout(db: Queryable): Promise<void> {
  await db.query("set local lock_timeout to default");
}

/** Postgres' SQLSTATE of a lock not granted within lock_timeout. */
const LOCK_NOT_AVAILABLE = "55P03";

/** Whether a statement failed because its lock was not granted within lock_timeout. */
export function isLockNotAvailable(err: unknown): boolean {
  return (err as { code?: string } | undefined)?.code === LOCK_NOT_AVAILABLE;
}
