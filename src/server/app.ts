import cluster from "node:cluster";
import { hostname } from "node:os";
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { TransportCaller } from "../branch/transport-caller";
import type { BranchCaller } from "../core/branch-caller";
import { Clock } from "../core/clock";
import { Engine } from "../core/engine";
import { createTopics } from "../core/topics";
import { PgKvRepository } from "../store/pg-kv-repository";
import { PgRepository } from "../store/pg-repository";
import { Store } from "../store/store";
import { readAdminTokens } from "./admin-auth";
import { AlertWebhook } from "./alert-webhook";
import { answerStarting, bindAll, type Handler } from "./bind-ports";
import { CLOCK_SYNC_MS, syncClock } from "./clock-sync";
import type { Config } from "./config";
import { engineSettings } from "./engine-settings";
import { Heartbeat } from "./heartbeat";
import type { Listener } from "./listener";
import { createLogger } from "./logger";
import { isLoopback } from "./loopback";
import { Observability } from "./observability";
import { RecoveryWorker } from "./recovery-worker";
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
    readonly engine: Engine,
    private readonly caller: TransportCaller,
    readonly listeners: Listener[],
    readonly recovery: RecoveryWorker | null,
    private readonly alerts: AlertWebhook | null,
    private readonly heartbeat: Heartbeat,
    /** Deletes finished transactions past `retention.finished`; null when it is off. */
    readonly retention: RetentionWorker | null,
  ) {}

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
    const repository = new PgRepository(
      store,
      {
        maxInFlight: Math.max(1, Math.floor(store.connections / 4)),
        maxBatch: 128,
        gatherTick: true,
        onBatch: observed.onBatch,
      },
      observed.statusChanged,
    );
    try {
      await syncClock(repository, clock);
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      await store.close();
      throw new StartupError(`store: cannot read the database's clock (${(err as Error).message})`, err);
    }
    const caller = new TransportCaller();
    const topics = createTopics({
      kv: new PgKvRepository(store),
      clock,
      maxSubscribers: config.limits.maxSteps,
      maxPageSize: config.limits.maxPageSize,
    });
    const alerts = config.alert.webhook
      ? new AlertWebhook(config.alert.webhook, config.branch.requestTimeout, logger)
      : null;
    const observedCaller = observed.wrapCaller(caller);
    const engine = new Engine({
      repository,
      caller: opts.wrapCaller?.(observedCaller) ?? observedCaller,
      clock,
      settings: engineSettings(config),
      logger,
      lookups: topics,
      alerts: alerts?.send,
      observer: observed.passes,
    });
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
    const recovery = config.recovery.enabled
      ? new RecoveryWorker(
          engine,
          {
            pollIntervalMs: config.recovery.pollInterval,
            batchSize: config.recovery.batchSize,
            concurrency: config.recovery.concurrency,
          },
          logger,
        )
      : null;
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
    const app = new App(
      config,
      logger,
      store,
      clock,
      engine,
      caller,
      listeners,
      recovery,
      alerts,
      heartbeat,
      retention,
    );
    retention?.start();
    app.clockTimer = setInterval(() => {
      syncClock(repository, clock).catch((err) => logger.warn({ err }, "clock sync failed"));
    }, CLOCK_SYNC_MS).unref();
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
    await this.recovery?.close();
    await this.retention?.close();
    await this.engine.close(this.config.server.shutdownTimeout);
    await this.heartbeat.close();
    await this.alerts?.close();
    await this.caller.close();
    await this.store.close();
    await flushTracing().catch((err) => this.logger.warn({ err }, "sending the last spans failed"));
    this.logger.info("dtx stopped");
  }
}
