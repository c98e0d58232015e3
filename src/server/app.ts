import cluster from "node:cluster";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "pino";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { AdminService } from "../../gen/dtx/v1/admin_pb";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TopicService } from "../../gen/dtx/v1/topics_pb";
import { adminService } from "../api/admin-service";
import { createDtmHttpRoutes } from "../api/dtm-http";
import { dtmGrpcService } from "../api/dtm-grpc";
import { hideInternalErrors } from "../api/internal-errors";
import { createJsonRpcRoute } from "../api/json-rpc";
import { refuseNulStrings } from "../api/message-strings";
import { clearRequestErrors } from "../api/request-errors";
import { sendJson, type Req, type Res } from "../api/http-io";
import { coordinatorService } from "../api/native-service";
import { topicService } from "../api/native-topics";
import { REST_SERVICES } from "../api/openapi";
import { createRestGateway } from "../api/rest-gateway";
import { TransportCaller } from "../branch/transport-caller";
import type { BranchCaller } from "../core/branch-caller";
import { Clock } from "../core/clock";
import { Engine } from "../core/engine";
import type { TransRepository } from "../core/repository";
import { TargetPolicy } from "../core/target-policy";
import { createTopics } from "../core/topics";
import { PgKvRepository } from "../store/pg-kv-repository";
import { PgRepository } from "../store/pg-repository";
import { Store } from "../store/store";
import { adminAuth, readAdminTokens } from "./admin-auth";
import { AlertWebhook } from "./alert-webhook";
import { isLoopback } from "./loopback";
import type { Config } from "./config";
import { Listener } from "./listener";
import { flushTracing } from "./tracing/sdk";
import { metricsRoute } from "./metrics-route";
import { openApiRoute } from "./openapi-route";
import { Observability } from "./observability";
import { adminPageRoute } from "./admin-page-route";
import { packageRoot } from "./package-root";
import { createLogger } from "./logger";
import { Heartbeat } from "./heartbeat";
import { RecoveryWorker } from "./recovery-worker";
import { RetentionWorker } from "./retention-worker";
import { bindError, StartupError } from "./startup-error";
import { dtxVersion } from "./version";

/** How often the clock re-anchors to the database's. */
const CLOCK_SYNC_MS = 60_000;

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
      settings: {
        retry: { intervalMs: config.retry.interval, maxIntervalMs: config.retry.maxInterval },
        requestTimeoutMs: config.branch.requestTimeout,
        timeoutToFailMs: config.timeoutToFail,
        leaseMs: config.recovery.lease,
        maxSteps: config.limits.maxSteps,
        maxPayloadBytes: config.limits.maxPayloadBytes,
        admission: {
          maxInFlight: config.admission.maxInFlight,
          maxQueued: config.admission.maxQueued,
          maxWaitMs: config.admission.maxWait,
        },
        maxGidLength: config.limits.maxGidLength,
        maxPageSize: config.limits.maxPageSize,
        alertRetryLimit: config.alert.retryLimit,
        targets:
          config.branch.allowedTargets.length > 0
            ? new TargetPolicy(config.branch.allowedTargets)
            : undefined,
      },
      logger,
      lookups: topics,
      alerts: alerts?.send,
      observer: observed.passes,
    });
    const { maxGidLength } = config.limits;
    const interceptors = [
      hideInternalErrors(logger),
      refuseNulStrings(),
      ...(opts.interceptors ?? []),
      adminAuth(tokens, logger),
    ];
    const native = coordinatorService({ engine, maxGidLength });
    const nativeTopics = topicService(topics);
    const admin = adminService({
      engine,
      timeoutToFailMs: config.timeoutToFail,
      process: {
        version: dtxVersion(),
        store: store.kind,
        recoveryEnabled: config.recovery.enabled,
        workers: config.recovery.enabled ? config.recovery.concurrency : 0,
      },
    });
    const impls: Record<string, object> = {
      [CoordinatorService.typeName]: native,
      [TopicService.typeName]: nativeTopics,
      [AdminService.typeName]: admin,
    };
    const gateway = createRestGateway(
      REST_SERVICES.map((service) => ({ service, impl: impls[service.typeName]! })),
      {
        maxBodyBytes: config.server.maxBodyBytes,
        interceptors,
      },
    );
    const dtmDeps = {
      engine,
      topics,
      version: dtxVersion(),
      maxBodyBytes: config.server.maxBodyBytes,
      maxGidLength,
      timeoutToFailMs: config.timeoutToFail,
      logger,
    };
    const dtmRoutes = createDtmHttpRoutes(dtmDeps);
    const jsonRpc = createJsonRpcRoute(dtmDeps);
    const metricsText = metricsRoute(observed.scrape);
    const openApi = openApiRoute(dtxVersion());
    const adminPage = adminPageRoute(opts.adminPageDir ?? join(packageRoot(), "dist", "admin"));
    // the plain HTTP routes, tried in order; a request none of them takes is answered 404
    const plainRoutes = (routes: Array<(req: Req, res: Res) => boolean | Promise<boolean>>) => {
      return (req: Req, res: Res): void => {
        void (async () => {
          if (!isGrpc(req)) for (const route of routes) if (await route(req, res)) return;
          sendJson(res, 404, { message: `no route for ${req.method} ${req.url}` });
        })().catch((err) => {
          logger.error({ err }, "request failed");
          if (!res.headersSent) sendJson(res, 500, { message: "internal error" });
        });
      };
    };
    const fallback = plainRoutes([metricsText, openApi, adminPage, dtmRoutes, jsonRpc, gateway]);
    // dtm's HTTP API, the hot path of dtm clients: no Connect route is under /api/dtmsvr/, so its
    // requests skip the Connect adapter and the other routes
    const dtmApi = plainRoutes([dtmRoutes]);
    const connect = connectNodeAdapter({
      routes: (router) => {
        router.service(CoordinatorService, native);
        router.service(TopicService, nativeTopics);
        router.service(AdminService, admin);
        router.service(Dtm, dtmGrpcService({ engine, topics, maxGidLength }));
        clearRequestErrors(router);
      },
      interceptors: [...observed.interceptors(), ...interceptors],
      fallback: fallback as Parameters<typeof connectNodeAdapter>[0]["fallback"],
      readMaxBytes: config.server.maxBodyBytes,
    });
    const handler = (req: Req, res: Res): void =>
      req.url?.startsWith(DTM_HTTP_PREFIX) && !isGrpc(req) ? dtmApi(req, res) : connect(req, res);
    serve = observed.wrapHandler(handler);
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

type Handler = Parameters<typeof Listener.listen>[0]["handler"];

/** Where dtm's HTTP API lives (every route of src/api/dtm-http.ts but ping and health). */
const DTM_HTTP_PREFIX = "/api/dtmsvr/";

function isGrpc(req: Req): boolean {
  return String(req.headers["content-type"] ?? "").startsWith("application/grpc");
}

/** What a request gets between the bind and the store being ready. */
function answerStarting(req: Req, res: Res): void {
  res.setHeader("retry-after", "1");
  sendJson(res, 503, { message: "dtx is starting; retry in a moment" });
  void req;
}

/** Binds every configured port; on a failure, closes the ones bound and throws a StartupError. */
async function bindAll(config: Config, handler: Handler): Promise<Listener[]> {
  const listeners: Listener[] = [];
  for (const port of config.server.ports) {
    try {
      listeners.push(
        await Listener.listen({
          host: config.server.host,
          port,
          handler,
          drainTimeoutMs: config.server.shutdownTimeout,
          maxHeaderBytes: config.server.maxHeaderBytes,
        }),
      );
    } catch (err) {
      await Promise.all(listeners.map((l) => l.close()));
      throw bindError(err, config.server.host, port) ?? err;
    }
  }
  return listeners;
}

async function syncClock(repository: TransRepository, clock: Clock): Promise<void> {
  const sent = Date.now();
  const now = await repository.now();
  clock.anchor(now.getTime(), sent, Date.now());
}
