import { mkdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import pg from "pg";
import type { Logger } from "pino";
import { migrate } from "./migrate";
import type { Queryable } from "./queryable";

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

/** One statement as the store ran it (for metrics, tracing, and tests that count statements). */
export interface StatementEvent {
  /** The exported function that owns the statement (`insertTrans`, `savePass`, …). */
  name: string;
  text: string;
  durationMs: number;
  /** Rows returned or affected; 0 when it failed. */
  rows: number;
  /** Set when the statement failed. */
  error?: unknown;
}

/** Called after every statement run through `store.sql`; must not throw. */
export type StatementHook = (event: StatementEvent) => void;

/**
 * The store's lifecycle: a `pg` pool over Postgres or over the embedded PGlite (through its
 * node-postgres adapter), with the schema migrated. Every statement lives in a `*-statements.ts`
 * file and runs through `store.sql`, so both databases share one code path and every statement
 * reaches the hooks given to `onStatement`.
 */
export class Store {
  private readonly hooks = new Set<StatementHook>();

  /** Runs named statements on the pool and reports each to the statement hooks. */
  readonly sql: Queryable = {
    query: async (name, text, values) => {
      const started = performance.now();
      try {
        const res = await this.db.query(text, values);
        this.report({
          name,
          text,
          durationMs: performance.now() - started,
          rows: res.rowCount ?? res.rows.length,
        });
        return res;
      } catch (error) {
        this.report({ name, text, durationMs: performance.now() - started, rows: 0, error });
        throw error;
      }
    },
  };

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

  /** Calls `hook` after every statement run through `sql`; the returned function removes it. */
  onStatement(hook: StatementHook): () => void {
    this.hooks.add(hook);
    return () => this.hooks.delete(hook);
  }

  private report(event: StatementEvent): void {
    for (const hook of this.hooks) hook(event);
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
