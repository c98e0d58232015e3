/**
 * XA tests need Postgres prepared transactions; PGlite has none. `pgTest` runs a test on Postgres
 * (DTX_TEST_DATABASE_URL) and skips it on PGlite; `pgliteTest` the other way round.
 */
export const onPostgres = Boolean(process.env.DTX_TEST_DATABASE_URL);
/** A test that needs prepared transactions: skipped on PGlite. */
export const pgTest = onPostgres ? test : test.skip;
/** A test of what happens without prepared transactions: runs on PGlite only. */
export const pgliteTest = onPostgres ? test.skip : test;
/** Ends the name of every `pgTest`: why it is skipped on PGlite. */
export const SKIP = "(skipped on PGlite: it has no prepared transactions)";

/**
 * Debits 10 from `account` in a transaction on `pool` prepared as `id`: the prepared transaction
 * holds the row's lock (as a prepared XA branch does) until the returned function rolls it back.
 */
export async function lockRowInPreparedTransaction(
  pool: import("pg").Pool,
  account: string,
  id: string,
): Promise<() => Promise<void>> {
  const holder = await pool.connect();
  try {
    await holder.query("begin");
    await holder.query("update account set balance = balance - 10 where name = $1", [account]);
    await holder.query(`prepare transaction '${id}'`);
  } finally {
    holder.release();
  }
  return async () => void (await pool.query(`rollback prepared '${id}'`));
}
