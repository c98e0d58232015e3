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
