import { mkdirSync } from "node:fs";
import pg from "pg";
import { createBarrierTables } from "../../src/client";

/** The bank's database: a `pg` pool over Postgres, or over an embedded PGlite. */
export interface BankDb {
  pool: pg.Pool;
  /** Ends the pool (and the embedded database). */
  close(): Promise<void>;
}

/**
 * Opens the bank's database: Postgres at `url`, or PGlite in `dataDir` (`memory://` keeps nothing)
 * through its node-postgres adapter. PGlite has one connection: the pool hands it to one
 * transaction at a time.
 */
export async function openBankDb(url: string | undefined, dataDir = "memory://"): Promise<BankDb> {
  if (url) {
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    return { pool, close: () => pool.end() };
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { createPgConfig } = await import("@electric-sql/pglite/node-postgres");
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const pool = new pg.Pool(createPgConfig(db) as unknown as pg.PoolConfig);
  return {
    pool,
    close: async () => {
      await pool.end();
      await db.close();
    },
  };
}

/**
 * Creates the account table and the barrier table if missing, and opens the given accounts (with
 * their balance) unless they exist.
 */
export async function prepareBankDb(
  pool: pg.Pool,
  accounts: Record<string, number>,
  barrierTable?: string,
): Promise<void> {
  await pool.query(
    `create table if not exists account (
       name text primary key,
       balance bigint not null,
       frozen bigint not null default 0
     )`,
  );
  await createBarrierTables(pool, barrierTable);
  for (const [name, balance] of Object.entries(accounts)) {
    await pool.query("insert into account (name, balance) values ($1, $2) on conflict do nothing", [
      name,
      balance,
    ]);
  }
}
