import { mkdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import pg from "pg";
import type { Logger } from "pino";
import { storeError } from "./store-error";
import { DataDirLock } from "./data-dir-lock";
import { createSchema, migrate } from "./migrate";
import type { Queryable } from "./queryable";

/**
 * Statements run as named prepared statements: the hot path's two, whose text never changes. Each
 * connection then parses and analyses them once instead of at every call, which took Postgres
 * 0.13–0.17 ms of CPU per statement (bench/README.md, issue 13). Every connection runs with
 * `plan_cache_mode = force_custom_plan` (set by a statement when it connects), so their plans stay what
 * an unnamed statement gets: made for the arrays at hand, never a generic plan made for arrays of
 * unknown length. (Other statements stay unnamed: some build their text per call.) Behind a pooler:
 * README, "Postgres behind a connection pooler".
 */
const PREPARED = new Set(["insertTrans", "savePass"]);
const PLAN_CACHE_MODE = "force_custom_plan";

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
  /** Apply pending migrations (default true); `false` only looks (`dtx migrate --check`, `dtx doctor`). */
  migrate?: boolean;
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
        const res = PREPARED.has(name)
          ? await this.db.query({ name, text, values })
          : await this.db.query(text, values);
        this.report({
          name,
          text,
          durationMs: performance.now() - started,
          rows: res.rowCount ?? res.rows.length,
        });
        return res;
      } catch (error) {
        this.report({ name, text, durationMs: performance.now() - started, rows: 0, error });
        throw storeError(error, name, this.logger);
      }
    },
  };

  private constructor(
    readonly db: pg.Pool,
    readonly kind: "postgres" | "pglite",
    /** Connections the pool can open: `store.poolSize` on Postgres, 1 on PGlite. */
    readonly connections: number,
    private readonly closeEmbedded: () => Promise<void>,
    private readonly logger?: Logger,
  ) {}

  /**
   * Connects, creates the schema if needed and applies pending migrations. The embedded store's
   * directory is locked first (data-dir-lock.ts).
   *
   * @throws StoreOpenError naming `store.url` or `store.dataDir` and what went wrong
   */
  static async open(opts: StoreOptions, logger?: Logger): Promise<Store> {
    const { pool, kind, closeEmbedded } = opts.url ? openPostgres(opts) : await openEmbedded(opts.dataDir);
    pool.on("error", (err) => logger?.error({ err }, "idle database connection failed"));
    const store = new Store(pool, kind, kind === "pglite" ? 1 : opts.poolSize, closeEmbedded, logger);
    try {
      if (opts.schema !== "public") {
        await createSchema(pool, quoteIdent(opts.schema));
        // PGlite has one connection for the life of the pool: choose the schema once
        if (kind === "pglite") await pool.query(`set search_path to ${quoteIdent(opts.schema)}`);
      }
      if (kind === "pglite") await pool.query(`set plan_cache_mode to ${PLAN_CACHE_MODE}`);
      // without migrating, one statement still proves the database reachable
      if (opts.migrate === false) await pool.query("select 1");
      const applied = opts.migrate === false ? 0 : await migrate(pool);
      logger?.info({ kind, applied }, "store ready");
    } catch (err) {
      await store.close().catch(() => undefined);
      const where = opts.url ? `store.url ${redactUrl(opts.url)}` : `store.dataDir ${opts.dataDir}`;
      const what = isConnectError(err) ? "cannot connect" : "cannot prepare the schema";
      throw new StoreOpenError(`${where}: ${what} (${errorText(err)})`, err);
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

/** The store could not be opened; the message names the key (`store.url`, `store.dataDir`) and the cause. */
export class StoreOpenError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "StoreOpenError";
  }
}

interface OpenedPool {
  pool: pg.Pool;
  kind: "postgres" | "pglite";
  closeEmbedded: () => Promise<void>;
}

function openPostgres(opts: StoreOptions): OpenedPool {
  // every connection starts in the configured schema
  const options = opts.schema === "public" ? undefined : `-c search_path=${quoteIdent(opts.schema)}`;
  // the plan mode by a statement, not a startup option: a pooler (PgBouncer) refuses startup options
  // it does not track; the pool hands a connection out once it ran (or drops it when it failed)
  const onConnect = async (client: pg.ClientBase) => {
    await client.query(`set plan_cache_mode to ${PLAN_CACHE_MODE}`);
  };
  let pool: pg.Pool;
  try {
    pool = new pg.Pool({ connectionString: opts.url, max: opts.poolSize, options, onConnect });
  } catch (err) {
    throw new StoreOpenError(`store.url ${redactUrl(opts.url)}: ${errorText(err)}`, err);
  }
  return { pool, kind: "postgres", closeEmbedded: async () => undefined };
}

/** PGlite in `dataDir` (locked for this process), or in memory (`memory://`). */
async function openEmbedded(dataDir: string): Promise<OpenedPool> {
  const { PGlite } = await import("@electric-sql/pglite");
  const { createPgConfig } = await import("@electric-sql/pglite/node-postgres");
  let lock: DataDirLock | null = null;
  if (!dataDir.startsWith("memory://")) {
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (err) {
      throw new StoreOpenError(`store.dataDir ${dataDir}: cannot create it (${errorText(err)})`, err);
    }
    lock = DataDirLock.take(dataDir);
  }
  let db: InstanceType<typeof PGlite>;
  try {
    db = await PGlite.create(dataDir);
  } catch (err) {
    lock?.release();
    throw new StoreOpenError(
      `store.dataDir ${dataDir}: cannot open the embedded database (${errorText(err)})`,
      err,
    );
  }
  const pool = new pg.Pool(createPgConfig(db) as unknown as pg.PoolConfig);
  const closeEmbedded = async (): Promise<void> => {
    try {
      await db.close();
    } finally {
      lock?.release();
    }
  };
  return { pool, kind: "pglite", closeEmbedded };
}

/** A URL with its password replaced by `***`, fit for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
  }
}

/** An error's text; a connect failure to every address of a host (AggregateError) has none of its own. */
function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errorText(err.errors[0]);
  const e = err as { message?: unknown; code?: unknown };
  return String(e?.message || e?.code || err);
}

/** Whether an error is about reaching the server (network, authentication, a missing database). */
function isConnectError(err: unknown): boolean {
  if (err instanceof AggregateError) return true;
  const code = String((err as { code?: unknown })?.code ?? "");
  // errno codes, or SQLSTATE classes 08 (connection), 28 (authorization), 3D000 (no such database), 57P03
  return /^E[A-Z]+$/.test(code) || /^(08|28)/.test(code) || code === "3D000" || code === "57P03";
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
