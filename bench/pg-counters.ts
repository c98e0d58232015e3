import pg from "pg";
import type { QueryResult, QueryResultRow } from "pg";

/** Database-wide counters at one moment. */
export interface DbSnapshot {
  /** `pg_stat_database.xact_commit` of the current database. */
  commits: number;
  /** The next transaction id to be assigned (cluster-wide): its delta counts transactions that wrote. */
  nextXid: bigint;
  /** Statements this connection had sent before the read: the bench's own commits are subtracted. */
  ownBefore: number;
}

/** What happened between two snapshots, the bench's own statements excluded. */
export interface DbDelta {
  commits: number;
  writeXacts: number;
}

/**
 * The bench's own connection to Postgres: reads the commit counters, and runs the bench's few
 * bookkeeping queries (counting its own statements so they can be subtracted from the commits).
 *
 * `pg_stat_database` is fed by each backend's pending statistics, which a backend publishes when a
 * transaction ends, at most once a second, and only if it has pending table statistics; an idle backend
 * publishes what it holds 10 s after its last transaction (or when it disconnects). The coordinators'
 * connections belong to other processes, so the bench cannot make them publish: it waits out those 10 s
 * before each read instead (see `BENCH_SETTLE_SECONDS`). `snapshot()` makes the bench's own connection
 * publish. The next transaction id needs no flush: its delta counts the transactions that were assigned
 * an id (those that wrote), cluster-wide, exactly.
 */
export class PgCounters {
  private own = 0;

  private constructor(
    private readonly client: pg.Client,
    /** `server_version`, e.g. `15.4 (Debian ...)`. */
    readonly serverVersion: string,
    /** The settings that decide what a commit costs, e.g. `fsync on, synchronous_commit on, commit_delay 0`. */
    readonly durability: string,
    private readonly canForceFlush: boolean,
  ) {}

  /** Connects (to the database the coordinator uses) as `appName`. */
  static async open(url: string, appName: string): Promise<PgCounters> {
    const client = new pg.Client({ connectionString: url, application_name: appName });
    await client.connect();
    const { rows } = await client.query<{ version: string; durability: string; force: boolean }>(
      `select current_setting('server_version') as version,
         'fsync ' || current_setting('fsync') || ', synchronous_commit ' || current_setting('synchronous_commit')
           || ', commit_delay ' || current_setting('commit_delay') as durability,
         exists (select 1 from pg_proc where proname = 'pg_stat_force_next_flush') as force`,
    );
    const r = rows[0]!;
    return new PgCounters(client, r.version, r.durability, r.force);
  }

  /** Runs a statement on the bench's connection (counted as the bench's own). */
  query<R extends QueryResultRow = QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<QueryResult<R>> {
    this.own++;
    return this.client.query<R>(text, values);
  }

  /**
   * A statement that makes the connection running it publish its pending statistics, its own commit
   * included, as it finishes. It reads a table because a backend with no pending table statistics skips
   * publishing altogether (its commit count then waits for a later statement that touches a table); on
   * Postgres 15+ it also forces the flush, which otherwise waits until 1 s after the previous one.
   */
  private get flushStatement(): string {
    return this.canForceFlush
      ? "select pg_stat_force_next_flush() from pg_database limit 1"
      : "select 1 from pg_database limit 1";
  }

  /** Reads the counters; the caller has let the coordinators' connections publish their statistics. */
  async snapshot(): Promise<DbSnapshot> {
    if (!this.canForceFlush) await new Promise((resolve) => setTimeout(resolve, 1100));
    await this.query(this.flushStatement);
    const ownBefore = this.own;
    const { rows } = await this.query<{ commits: string; next_xid: string }>(
      `select xact_commit::text as commits, txid_snapshot_xmax(txid_current_snapshot())::text as next_xid
       from pg_stat_database where datname = current_database()`,
    );
    return { commits: Number(rows[0]!.commits), nextXid: BigInt(rows[0]!.next_xid), ownBefore };
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    await this.client.end();
  }
}

/**
 * Commits and writing transactions between two snapshots. The bench's own statements in between (the
 * first read included, the second excluded: its commit is not yet counted when it reads) are subtracted
 * from the commits; they never write, so they take no transaction id.
 */
export function delta(a: DbSnapshot, b: DbSnapshot): DbDelta {
  return {
    commits: b.commits - a.commits - (b.ownBefore - a.ownBefore),
    writeXacts: Number(b.nextXid - a.nextXid),
  };
}
