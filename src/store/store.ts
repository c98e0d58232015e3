import { mkdirSync } from "node:fs";
import pg from "pg";
import type { Logger } from "pino";
import { migrate } from "./migrate";

/** How to reach the database. */
export interface StoreOptions {
  /** A postgres:// URL; empty: the embedded PGlite store in `dataDir`. */
  url: string;
  /** PGlite's data directory, or `memory://`. */
  dataDir: string;
  /** The schema the tables live in (created if missing). */
  schema: string;
  /** Connections to Postgres (PGlite has exactly one). */
  poolSize: number;
}

/**
 * The store's lifecycle: a `pg` pool over Postgres or over the embedded PGlite (through its
 * node-postgres adapter), with the schema migrated. Every statement lives in a `*-statements.ts`
 * file and takes `store.db`, so both databases share one code path.
 */
export class Store {
  private constructor(
    readonly db: pg.Pool,
    readonly kind: "postgres" | "pglite",
    /** Connections the pool can open: `store.poolSize` on Postgres, 1 on PGlite. */
    readonly connections: number,
    private readonly closeEmbedded: () => Promise<void>,
  ) {}

  /** Connects, creates the schema if needed and applies pending migrations. */
  static async open(opts: StoreOptions, logger?: Logger): Promise<Store> {
    let pool: pg.Pool;
    let kind: "postgres" | "pglite";
    let closeEmbedded = async (): Promise<void> => undefined;
    if (opts.url) {
      kind = "postgres";
      // every connection starts in the configured schema
      const options = opts.schema === "public" ? undefined : `-c search_path=${quoteIdent(opts.schema)}`;
      pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize, options });
    } else {
      kind = "pglite";
      const { PGlite } = await import("@electric-sql/pglite");
      const { createPgConfig } = await import("@electric-sql/pglite/node-postgres");
      if (!opts.dataDir.startsWith("memory://")) mkdirSync(opts.dataDir, { recursive: true });
      const db = await PGlite.create(opts.dataDir);
      pool = new pg.Pool(createPgConfig(db) as unknown as pg.PoolConfig);
      closeEmbedded = () => db.close();
    }
    pool.on("error", (err) => logger?.error({ err }, "idle database connection failed"));
    if (opts.schema !== "public") {
      await pool.query(`create schema if not exists ${quoteIdent(opts.schema)}`);
      // PGlite has one connection for the life of the pool: choose the schema once
      if (kind === "pglite") await pool.query(`set search_path to ${quoteIdent(opts.schema)}`);
    }
    const store = new Store(pool, kind, kind === "pglite" ? 1 : opts.poolSize, closeEmbedded);
    try {
      const applied = await migrate(pool);
      logger?.info({ kind, applied }, "store ready");
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /** Closes the pool (and the embedded database); resolves when every connection is gone. */
  async close(): Promise<void> {
    await this.db.end();
    await this.closeEmbedded();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
