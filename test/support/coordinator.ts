import { randomBytes } from "node:crypto";
import pg from "pg";
import { request } from "undici";
import { App, type AppOptions } from "../../src/server/app";
import { defaultConfig, type Config, type DeepPartial } from "../../src/server/config";
import { createLogger } from "../../src/server/logger";
import { pgliteDataDir, removePgliteDataDir } from "./pglite-template";

/**
 * A real coordinator for tests: listens on 127.0.0.1 port 0 (one port, every protocol), stores in
 * Postgres when DTX_TEST_DATABASE_URL is set (a fresh schema per coordinator) and in PGlite otherwise
 * (a copy of the test run's initialised template, pglite-template.ts; in memory without one). The recovery worker is off unless asked for: tests run "the cron" themselves
 * with `cron()`, with time travel instead of real waiting.
 */
export class TestCoordinator {
  private constructor(
    readonly app: App,
    readonly schema: string,
    /** The PGlite directory made for this coordinator (removed by close). */
    private readonly dataDir?: string,
  ) {}

  /** `http://127.0.0.1:<port>` */
  get base(): string {
    return `http://127.0.0.1:${this.app.ports[0]}`;
  }

  /** `127.0.0.1:<port>` for gRPC clients. */
  get grpcTarget(): string {
    return `127.0.0.1:${this.app.ports[0]}`;
  }

  static async start(
    overrides: DeepPartial<Config> = {},
    schema = newSchemaName(),
    options: AppOptions = {},
  ): Promise<TestCoordinator> {
    const config = testConfig(overrides, schema);
    // PGlite in memory unless the test chose a directory: a copy of the initialised template instead
    const copy = !config.store.url && config.store.dataDir === "memory://" ? pgliteDataDir() : undefined;
    if (copy) config.store.dataDir = copy;
    try {
      const app = await App.start(config, {
        logger: createLogger(process.env.DTX_TEST_LOG ?? "silent"),
        ...options,
      });
      return new TestCoordinator(app, schema, copy);
    } catch (err) {
      if (copy) removePgliteDataDir(copy);
      throw err;
    }
  }

  /**
   * One "cron" step: claims transactions due within `lookAheadMs` (default 180 s, as dtm's tests)
   * with the clock moved `forwardMs` ahead, drives them and waits for their passes.
   */
  async cron(opts: { forwardMs?: number; lookAheadMs?: number } = {}): Promise<string[]> {
    const forwardMs = opts.forwardMs ?? 0;
    this.app.clock.advance(forwardMs);
    try {
      return await this.app.engine.recoverOnce(100, opts.lookAheadMs ?? 180_000);
    } finally {
      // undo this step's shift only: a concurrent cron's passes still run in its shifted time
      this.app.clock.advance(-forwardMs);
    }
  }

  /** Waits until no pass of `gid` runs. */
  settled(gid?: string): Promise<void> {
    return this.app.engine.settled(gid);
  }

  /** POST JSON to a dtm route; resolves with status and parsed body. */
  async post(path: string, body: unknown): Promise<{ status: number; body: any }> {
    const res = await request(this.base + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : null };
  }

  /** GET a route; resolves with status and parsed body. */
  async get(path: string): Promise<{ status: number; body: any }> {
    const res = await request(this.base + path);
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : null };
  }

  /** dtm's query route: the transaction and its branches (dtm JSON shapes). */
  async query(gid: string): Promise<{ transaction: any; branches: any[] }> {
    const { body } = await this.get(`/api/dtmsvr/query?gid=${encodeURIComponent(gid)}`);
    return body;
  }

  /** The stored status of a transaction. */
  async status(gid: string): Promise<string> {
    return (await this.query(gid)).transaction?.status;
  }

  /** Branch statuses in storage order, as dtm's tests write them: P/S/F. */
  async branchVector(gid: string): Promise<string[]> {
    const { branches } = await this.query(gid);
    return branches.map(
      (b) => ({ prepared: "P", succeed: "S", failed: "F" })[b.status as string] ?? b.status,
    );
  }

  /** Stops the coordinator and drops its schema (or removes its PGlite directory). */
  async close(): Promise<void> {
    await this.app.close();
    await dropSchema(this.schema);
    if (this.dataDir) removePgliteDataDir(this.dataDir);
  }
}

/** The configuration tests run with: loopback, port 0, quiet, no background worker. */
export function testConfig(overrides: DeepPartial<Config>, schema: string): Config {
  const c = defaultConfig();
  c.server.host = "127.0.0.1";
  c.server.ports = [0];
  c.server.shutdownTimeout = 2000;
  c.store.url = process.env.DTX_TEST_DATABASE_URL ?? "";
  c.store.dataDir = "memory://";
  c.store.schema = c.store.url ? schema : "public";
  c.store.poolSize = 5;
  c.recovery.enabled = false;
  // a test that turns recovery on drives it in this process: a thread could not load the .ts sources
  // under jest (the thread is tested through real processes, test/e2e/recovery-thread.test.ts)
  c.recovery.thread = false;
  // no heartbeat statements amid the statements tests count (takeover tests set their own)
  c.recovery.heartbeat = 3_600_000;
  c.recovery.deadAfter = 7_200_000;
  c.log.level = "silent";
  merge(c, overrides);
  return c;
}

function merge(base: object, over: object): void {
  for (const [k, v] of Object.entries(over)) {
    const cur = (base as Record<string, unknown>)[k];
    if (v && typeof v === "object" && !Array.isArray(v) && cur && typeof cur === "object") merge(cur, v);
    else (base as Record<string, unknown>)[k] = v;
  }
}

/** A fresh schema name per coordinator, so test files never share rows. */
export function newSchemaName(): string {
  return `t_${randomBytes(6).toString("hex")}`;
}

/** Drops a test schema (Postgres only). */
export async function dropSchema(schema: string): Promise<void> {
  const url = process.env.DTX_TEST_DATABASE_URL;
  if (!url) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
