import type { Pool, PoolClient } from "pg";
import { migrations } from "./migrations";

/** Serializes concurrent starts of several coordinators on one database. */
const MIGRATION_LOCK = 7_306_581_207;

/** The migrations this build knows that the database has not applied yet (all of them on a fresh one). */
export async function pendingMigrations(pool: Pool): Promise<{ version: number; name: string }[]> {
  const current = (await hasMigrationsTable(pool)) ? await appliedVersion(pool) : 0;
  return migrations.filter((m) => m.version > current).map(({ version, name }) => ({ version, name }));
}

async function hasMigrationsTable(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query<{ found: boolean }>(
    "select to_regclass('dtx_migrations') is not null as found",
  );
  return rows[0]?.found === true;
}

async function appliedVersion(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ v: number | null }>("select max(version) as v from dtx_migrations");
  return rows[0]?.v ?? 0;
}

/**
 * Creates the schema (its name quoted already) unless it exists, under the migrations' advisory lock:
 * two coordinators starting together on a new schema would otherwise race in `create schema if not
 * exists`, and the later one fail on pg_namespace's unique index.
 */
export async function createSchema(pool: Pool, quotedName: string): Promise<void> {
  await underMigrationLock(pool, async (client) => {
    await client.query(`create schema if not exists ${quotedName}`);
  });
}

/**
 * Applies every migration newer than the database's version, all in one transaction (a failing
 * migration leaves the schema as it was), under an advisory lock so that coordinators starting
 * together do not race.
 */
export async function migrate(pool: Pool): Promise<number> {
  return underMigrationLock(pool, async (client) => {
    await client.query(
      "create table if not exists dtx_migrations (version int primary key, name text not null, applied_at timestamptz not null default now())",
    );
    const { rows } = await client.query<{ v: number | null }>("select max(version) as v from dtx_migrations");
    const current = rows[0]?.v ?? 0;
    let applied = 0;
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query("insert into dtx_migrations (version, name) values ($1, $2)", [m.version, m.name]);
      applied++;
    }
    return applied;
  });
}

/** Runs `work` in one transaction holding MIGRATION_LOCK; rolls back when it throws. */
async function underMigrationLock<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("begin");
    await client.query("select pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    const result = await work(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
