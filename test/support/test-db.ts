import pg from "pg";
import { newSchemaName } from "./coordinator";
import { pgliteDataDir, removePgliteDataDir } from "./pglite-template";

/** A database of its own for an SDK test file: a `pg` pool over PGlite, or over a fresh schema on Postgres. */
export interface TestDb {
  pool: pg.Pool;
  kind: "pglite" | "postgres";
  /** Where this file's tables go (`public` on PGlite, a fresh schema on Postgres). */
  schema: string;
  /** Ends the pool (and PGlite), dropping the schema on Postgres. */
  close(): Promise<void>;
}

/**
 * PGlite (through its node-postgres adapter: one connection) by default, in a copy of the test run's
 * initialised template (pglite-template.ts; in memory without one); a fresh schema on DTX_TEST_DATABASE_URL (every connection starts in it; `max` connections).
 */
export async function openTestDb(max = 4): Promise<TestDb> {
  const url = process.env.DTX_TEST_DATABASE_URL;
  if (url) {
    const schema = newSchemaName();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    const pool = new pg.Pool({ connectionString: url, max, options: `-c search_path=${schema}` });
    return {
      pool,
      kind: "postgres",
      schema,
      close: async () => {
        await pool.query(`drop schema ${schema} cascade`);
        await pool.end();
      },
    };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { createPgConfig } = await import("@electric-sql/pglite/node-postgres");
  const dataDir = pgliteDataDir();
  const db = await PGlite.create(dataDir);
  const pool = new pg.Pool(createPgConfig(db) as unknown as pg.PoolConfig);
  return {
    pool,
    kind: "pglite",
    schema: "public",
    close: async () => {
      await pool.end();
      await db.close();
      removePgliteDataDir(dataDir);
    },
  };
}
