import pg from "pg";

/** Where the bench measures on Postgres: a database of its own, or the given one when it may not create one. */
export interface BenchDatabase {
  /** The URL the coordinators and the bench's counters connect to. */
  url: string;
  /** The database's name. */
  name: string;
  /** Whether the bench created it (and drops it in `drop`). */
  own: boolean;
  /** Why the bench measures in the given database; null when it has its own. */
  note: string | null;
  /** Drops the database the bench created (no-op otherwise); call once every connection to it is closed. */
  drop(): Promise<void>;
}

/** SQLSTATE of a missing privilege (`CREATEDB` here). */
const INSUFFICIENT_PRIVILEGE = "42501";

/**
 * Creates `dtx_bench_<runId>` on the server of `url`, so the bench's commit counters
 * (`pg_stat_database.xact_commit`) count the bench's coordinators only, not other clients of a shared
 * database. When the user lacks `CREATEDB` the bench stays in `url`'s database and says so in `note`.
 */
export async function openBenchDatabase(url: string, runId: string): Promise<BenchDatabase> {
  const name = `dtx_bench_${runId}`;
  const shared = new URL(url).pathname.slice(1) || "the user's default database";
  const admin = new pg.Client({ connectionString: url, application_name: `dtx-bench-${runId}-setup` });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } catch (err) {
    if ((err as { code?: string }).code !== INSUFFICIENT_PRIVILEGE) throw err;
    return {
      url,
      name: shared,
      own: false,
      note:
        `The user of DTX_BENCH_DATABASE_URL may not create databases (no CREATEDB): the bench ran in ` +
        `${shared}, whose commits by other clients count in Commits/saga too.`,
      drop: async () => undefined,
    };
  } finally {
    await admin.end();
  }
  const own = new URL(url);
  own.pathname = `/${name}`;
  return {
    url: own.toString(),
    name,
    own: true,
    note: null,
    drop: () => dropDatabase(url, name),
  };
}

/** Drops `name`, connected to the database of `url` (a database cannot drop itself). */
async function dropDatabase(url: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    // a coordinator killed by Ctrl-C may leave a backend behind for a moment
    await admin.query(`drop database if exists "${name}" with (force)`);
  } finally {
    await admin.end();
  }
}
