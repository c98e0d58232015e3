import cluster from "node:cluster";
import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { AdminService } from "../../gen/dtx/v1/admin_pb";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TopicService } from "../../gen/dtx/v1/topics_pb";
import type { Req, Res } from "../api/http-io";
import { rpcPathsOf } from "../api/route-name";
import type { BranchCaller } from "../core/branch-caller";
import type { Clock } from "../core/clock";
import type { PassObserver, StatusChangeEvent } from "../core/observer";
import type { Store } from "../store/store";
import type { Config } from "./config";
import { AppMetrics, type MetricsJson } from "./metrics/app-metrics";
import { clusterScrape } from "./metrics/cluster-scrape";
import type { Scrape } from "./metrics-route";
import type { Removed } from "./retention-worker";
import { statusLog } from "./status-log";
import { startTracing } from "./tracing/sdk";
import { statementSpans } from "./tracing/statement-spans";
import { tracedCaller } from "./tracing/traced-caller";
import { tracedHandler, tracedRpcErrors } from "./tracing/traced-handler";
import { dtxVersion, grpcVersion } from "./version";

type Handler = (req: Req, res: Res) => void;

/**
 * What a coordinator records about itself, wired at one place: Prometheus metrics (`metrics.enabled`),
 * OpenTelemetry spans (with an OTLP endpoint, or `tracing` for an embedder's own provider) and the status
 * log. Each wrapper is the identity when its part is off.
 */
export class Observability {
  private constructor(
    readonly metrics: AppMetrics | null,
    /** `/api/metrics`'s answer (with worker processes, the sum over them); null when metrics are off. */
    readonly scrape: Scrape | null,
    private readonly tracing: boolean,
    private readonly rpcPaths: ReadonlySet<string>,
    private readonly logStatus: (e: StatusChangeEvent) => void,
  ) {}

  /** Starts the SDK when an endpoint is set (`otel.endpoint`, else `OTEL_EXPORTER_OTLP_ENDPOINT`) and hooks the store. */
  static async start(
    config: Config,
    store: Store,
    clock: Clock,
    logger: Logger,
    tracingWanted = false,
  ): Promise<Observability> {
    const rpcPaths = rpcPathsOf([CoordinatorService, TopicService, AdminService, Dtm]);
    const endpoint = config.otel.endpoint || process.env.OTEL_EXPORTER_OTLP_ENDPOINT || "";
    if (endpoint) await startTracing({ endpoint, serviceName: config.otel.serviceName });
    const tracing = endpoint !== "" || tracingWanted;
    if (tracing) store.onStatement(statementSpans);
    const metrics = config.metrics.enabled
      ? new AppMetrics({
          versions: { dtx: dtxVersion(), grpc: grpcVersion() },
          db: store.sql,
          clock,
          refreshIntervalMs: config.metrics.refreshInterval,
          rpcPaths,
        })
      : null;
    if (metrics) store.onStatement(metrics.statement);
    // a worker of `server.workers` answers a scrape with the sum over every worker (cluster-scrape.ts)
    const scrape = metrics && (cluster.isWorker ? clusterScrape(metrics) : () => metrics.scrape());
    return new Observability(metrics, scrape, tracing, rpcPaths, statusLog(logger));
  }

  /** The repository's status-change listener: the finished counter and the info line. */
  readonly statusChanged = (e: StatusChangeEvent): void => {
    this.metrics?.statusChanged(e);
    this.logStatus(e);
  };

  /** The group commit's batch hook, if any. */
  get onBatch(): ((statement: string, size: number) => void) | undefined {
    return this.metrics?.batch;
  }

  /** The engine's pass observer, if any. */
  get passes(): PassObserver | undefined {
    return this.metrics?.passes;
  }

  /** What this thread counted, for the main thread's scrape to add (recovery-thread.ts); null when metrics are off. */
  async counted(): Promise<MetricsJson | null> {
    return (await this.metrics?.counted()) ?? null;
  }

  /** The retention worker's report, if any. */
  get retentionRemoved(): ((removed: Removed) => void) | undefined {
    return this.metrics?.retention;
  }

  /** The branch caller with its metrics and spans. */
  wrapCaller(caller: BranchCaller): BranchCaller {
    const metered = this.metrics ? this.metrics.wrapCaller(caller) : caller;
    return this.tracing ? tracedCaller(metered) : metered;
  }

  /** The interceptors of the RPC handler (before the embedder's). */
  interceptors(): Interceptor[] {
    return [
      ...(this.metrics ? [this.metrics.interceptor()] : []),
      ...(this.tracing ? [tracedRpcErrors()] : []),
    ];
  }

  /** The listeners' handler with the request span outside and the request metrics inside. */
  wrapHandler(handler: Handler): Handler {
    const metered = this.metrics ? this.metrics.wrapHandler(handler) : handler;
    return this.tracing ? tracedHandler(this.rpcPaths, metered) : metered;
  }
}
