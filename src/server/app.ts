import cluster from "node:cluster";
import { hostname } from "node:os";
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import type { BranchCaller } from "../core/branch-caller";
import { Clock } from "../core/clock";
import type { Engine } from "../core/engine";
import { Store } from "../store/store";
import { readAdminTokens } from "./admin-auth";
import { answerStarting, bindAll, type Handler } from "./bind-ports";
import { keepClockSynced, syncClock } from "./clock-sync";
import type { Config } from "./config";
import { closeEngineParts, setupEngine, type EngineParts } from "./engine-setup";
import { Heartbeat } from "./heartbeat";
import type { Listener } from "./listener";
import { createLogger } from "./logger";
import { isLoopback } from "./loopback";
import { Observability } from "./observability";
import { RecoveryThread } from "./recovery-thread";
import { RecoveryWorker, recoverySettings } from "./recovery-worker";
import { routeRequests } from "./request-routing";
import { RetentionWorker } from "./retention-worker";
import { StartupError } from "./startup-error";
import { flushTracing } from "./tracing/sdk";

/** What embedders and tests may give `App.start` besides the configuration. */
export interface AppOptions {
  logger?: Logger;
  /** Shared or shifted time (tests). */
  clock?: Clock;
  /**
   * Run around every call of the native and dtm gRPC/Connect services, the REST gateway's calls
   * included (metrics, tracing, auth).
   */
  interceptors?: Interceptor[];
  /** Where the admin page's built files are. Default: `dist/admin` of the package (`npm run build`). */
  adminPageDir?: string;
  /** Wraps the network branch caller (a metrics or tracing wrapper); the App still closes the original. */
  wrapCaller?: (caller: BranchCaller) => BranchCaller;
  /**
   * Record spans through the OpenTelemetry API although no OTLP endpoint is configured: for an
   * embedder (or a test) that registered its own tracer provider. Default: only with an endpoint.
   */
  tracing?: boolean;
}

/**
 * The coordinator process: store, engine, recovery worker and one listener per configured port,
 * each serving every protocol (gRPC, gRPC-Web, Connect, REST/JSON, dtm's HTTP routes).
 */
export class App {
  private clockTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly store: Store,
    readonly clock: Clock,
    private readonly parts: EngineParts,
    readonly listeners: Listener[],
    /** The recovery worker, on this thread or on its own (recovery.thread); null when it is off. */
    readonly recovery: Recovery | null,
    private readonly heartbeat: Heartbeat,
    /** Deletes finished transactions past `retention.finished`; null when it is off. */
    readonly retention: RetentionWorker | null,
  ) {}

  /** The engine of the API (and of the recovery worker when it runs on this thread). */
  get engine(): Engine {
    return this.parts.engine;
  }

  /** The bound ports, in configuration order (the real ones when 0 was configured). */
  get ports(): number[] {
    return this.listeners.map((l) => l.port);
  }

  /**
   * Binds every port first (answering 503 "starting" until the rest is ready), then opens the store,
   * then serves and starts the recovery worker — so a second process with the same ports or the same
   * embedded store fails at once with one clear line and touches nothing.
   *
   * @throws StartupError naming the port, the store key or the directory at fault
   */
  static async start(config: Config, opts: AppOptions = {}): Promise<App> {
    const logger = opts.logger ?? createLogger(config.log.level, undefined, config.log.format);
    const tokens = readAdminTokens(config.admin);
    if (tokens.length === 0 && !isLoopback(config.server.host)) {
      throw new StartupError(
        `admin.token: server.host ${config.server.host} serves beyond this machine; set a token`,
      );
    }
    let serve: Handler = answerStarting;
    const listeners = await bindAll(config, (req, res) => serve(req, res));
    let store: Store;
    try {
      store = await Store.open(config.store, logger);
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      throw new StartupError((err as Error).message, err);
    }
    const clock = opts.clock ?? new Clock();
    const observed = await Observability.start(config, store, clock, logger, opts.tracing);
    const parts = setupEngine(config, store, clock, observed, logger, { wrapCaller: opts.wrapCaller });
    const { engine, repository, topics } = parts;
    try {
      await syncClock(repository, clock);
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      await store.close();
      throw new StartupError(`store: cannot read the database's clock (${(err as Error).message})`, err);
    }
    serve = routeRequests({
      config,
      engine,
      topics,
      store,
      observed,
      logger,
      tokens,
      interceptors: opts.interceptors,
      adminPageDir: opts.adminPageDir,
    });
    let recovery: Recovery | null = null;
    try {
      recovery = await startRecovery(config, store, engine, observed, logger, opts);
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      await closeEngineParts(parts, 0);
      await store.close();
      throw new StartupError(`recovery.thread: cannot start (${(err as Error).message})`, err);
    }
    if (recovery) engine.onMadeDue = () => recovery.wake();
    const retention =
      config.retention.finished > 0
        ? new RetentionWorker(
            store.sql,
            clock,
            {
              finishedMs: config.retention.finished,
              intervalMs: config.retention.interval,
              batchSize: config.retention.batchSize,
            },
            logger,
            observed.retentionRemoved,
          )
        : null;
    let heartbeat: Heartbeat;
    try {
      heartbeat = await Heartbeat.start(
        store.sql,
        engine.coordinatorId,
        clock,
        {
          intervalMs: config.recovery.heartbeat,
          deadAfterMs: config.recovery.deadAfter,
          // a cluster worker shares its ports with its siblings (server.workers): they prove no
          // predecessor gone, so its node is its own, and a dead sibling is found by its silence
          node: `${hostname()}:${listeners.map((l) => l.port).join(",")}${cluster.isWorker ? `/pid-${process.pid}` : ""}`,
          exclusive: store.kind === "pglite" && !cluster.isWorker,
        },
        logger,
        () => recovery?.wake(),
      );
    } catch (err) {
      await recovery?.close();
      await Promise.all(listeners.map((l) => l.close()));
      await store.close();
      throw new StartupError(`store: cannot register the coordinator (${(err as Error).message})`, err);
    }
    const app = new App(config, logger, store, clock, parts, listeners, recovery, heartbeat, retention);
    retention?.start();
    app.clockTimer = keepClockSynced(repository, clock, logger);
    logger.info({ ports: app.ports, host: config.server.host, store: store.kind }, "dtx started");
    return app;
  }

  /**
   * Graceful stop: stop accepting and let in-flight requests finish (connections still open after
   * `server.shutdownTimeout` are closed), stop claiming, let running passes finish (or hand their
   * leases back after another `server.shutdownTimeout`), then close channels and the pool.
   */
  async close(): Promise<void> {
    clearInterval(this.clockTimer);
    await Promise.all(this.listeners.map((l) => l.close()));
    await this.retention?.close();
    // the recovery thread's passes and this thread's end side by side, each within shutdownTimeout
    await Promise.all([
      this.recovery?.close(),
      closeEngineParts(this.parts, this.config.server.shutdownTimeout),
    ]);
    await this.heartbeat.close();
    await this.store.close();
    await flushTracing().catch((err) => this.logger.warn({ err }, "sending the last spans failed"));
    this.logger.info("dtx stopped");
  }
}

/** The recovery worker as the App drives it, on the main thread or on its own. */
export interface Recovery {
  wake(): void;
  close(): Promise<void>;
}

/**
 * The recovery worker the configuration asks for: none (`recovery.enabled` false); on a thread of
 * its own (`recovery.thread`, on Postgres, when the embedder gave no clock, caller wrapper or tracer
 * of its own: those live on the main thread only); else on the main thread.
 */
async function startRecovery(
  config: Config,
  store: Store,
  engine: Engine,
  observed: Observability,
  logger: Logger,
  opts: AppOptions,
): Promise<Recovery | null> {
  if (!config.recovery.enabled) return null;
  const inProcessHooks = opts.clock !== undefined || opts.wrapCaller !== undefined || opts.tracing === true;
  if (config.recovery.thread && store.kind === "postgres" && !inProcessHooks) {
    if (RecoveryThread.loadable()) {
      const thread = await RecoveryThread.start(config, engine.coordinatorId, () => engine.saturated, logger);
      observed.metrics?.addCounts(() => thread.counted());
      engine.otherPasses = thread;
      return thread;
    }
    logger.warn(
      "recovery.thread: these are TypeScript sources without a require hook; recovery runs on the main thread",
    );
  }
  return new RecoveryWorker(engine, recoverySettings(config), logger);
}
