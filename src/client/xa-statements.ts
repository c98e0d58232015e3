/**
 * The SQL of XA on Postgres, one exported function per statement. Postgres takes a prepared
 * transaction's identifier as a string literal only (no parameter), so {@link xaId} checks it first.
 */
import type { Queryable } from "./barrier-statements";

/** Postgres' limit on a prepared transaction's identifier. */
const MAX_XA_ID = 200;

/**
 * The identifier of a branch's prepared transaction: `<gid>-<branch_id>` (dtm's), quoted as an SQL
 * string literal.
 *
 * @throws TypeError when it is longer than Postgres allows
 */
export function xaId(gid: string, branchId: string): string {
  const id = `${gid}-${branchId}`;
  if (Buffer.byteLength(id) >= MAX_XA_ID) {
    throw new TypeError(
      `xa: the prepared transaction id ${JSON.stringify(id)} is ${MAX_XA_ID} bytes or longer`,
    );
  }
  return `'${id.replace(/'/g, "''")}'`;
}

/** Prepares the client's transaction for two-phase commit (Postgres' `XA PREPARE`). */
export async function prepareTransaction(db: Queryable, id: string): Promise<void> {
  await db.query(`prepare transaction ${id}`);
}

/** Commits a prepared transaction (from any session). */
export async function commitPrepared(db: Queryable, id: string): Promise<void> {
  await db.query(`commit prepared ${id}`);
}

/** Rolls a prepared transaction back (from any session). */
export async function rollbackPrepared(db: Queryable, id: string): Promise<void> {
  await db.query(`rollback prepared ${id}`);
}

/** Whether a transaction is prepared under `id` (its SQL literal). */
export async function isPrepared(db: Queryable, id: string): Promise<boolean> {
  const res = await db.query(`select 1 from pg_prepared_xacts where gid = ${id}`);
  return (res.rowCount ?? 0) > 0;
}

/** How many transactions the server may hold prepared (0: Postgres' default, XA is off). */
export async function maxPreparedTransactions(db: Queryable): Promise<number> {
  const res = await db.query<{ max_prepared_transactions: string }>("show max_prepared_transactions");
  return Number(res.rows[0]?.max_prepared_transactions ?? 0);
}
