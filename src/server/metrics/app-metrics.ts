import type { Interceptor } from "@connectrpc/connect";
import { AggregatorRegistry, Registry } from "prom-client";
import type { Req, Res } from "../../api/http-io";
import type { BranchCaller } from "../../core/branch-caller";
import type { Clock } from "../../core/clock";
import type { PassObserver, StatusChangeEvent } from "../../core/observer";
import { isFinal } from "../../core/model";
import type { StatementEvent } from "../../store/store";
import type { Queryable } from "../../store/queryable";
import type { Removed } from "../retention-worker";
import { DtxMetrics } from "./dtx-metrics";
import { meteredCaller } from "./metered-caller";
import { processMetrics } from "./process-metrics";
import { meteredHandler, rpcMetrics } from "./request-metrics";
import { StoreGauges } from "./store-gauges";

/** One registry's metrics as `getMetricsAsJSON` gives them (what worker processes send the primary). */
export type MetricsJson = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

/** What a coordinator's metrics need to know at start. */
export interface AppMetricsOptions {
  versions: { dtx: string; grpc: string };
  /** Where the store gauges are read from. */
  db: Queryable;
  clock: Clock;
  /** The store gauges are re-read at most this often (ms). */
  refreshIntervalMs: number;
  /** The paths of the RPCs served (their calls are recorded by the interceptor; route-name.ts). */
  rpcPaths: ReadonlySet<string>;
}

/**
 * One coordinator's metrics and the hooks that record them: the API requests (a wrapper of the
 * listeners' handler and an interceptor of the RPC handler), branch calls (a BranchCaller wrapper),
 * passes and status changes (the engine's observer, the repository's listener), statements and
 * group-commit batches (the store's hooks). Each hook costs a counter increment or a histogram
 * observation; the store gauges are read only when scraped, at most once per refresh interval.
 */
export class AppMetrics {
  readonly metrics: DtxMetrics;
  private readonly gauges: StoreGauges;
  private readonly rpcPaths: ReadonlySet<string>;
  /** Counts kept elsewhere in this process (the recovery thread's), added to this one's. */
  private readonly others: Array<() => Promise<MetricsJson>> = [];

  constructor(opts: AppMetricsOptions) {
    this.metrics = new DtxMetrics(opts.versions);
    this.gauges = new StoreGauges(this.metrics, opts.db, opts.clock, opts.refreshIntervalMs);
    this.rpcPaths = opts.rpcPaths;
  }

  /**
   * What this process counted — Node's process metrics and this coordinator's counters, histograms
   * and info gauges — as JSON, for the primary of worker processes to sum (cluster-scrape.ts).
   */
  async ownMetrics(): Promise<MetricsJson> {
    return Registry.merge([processMetrics(), await this.counts()]).getMetricsAsJSON();
  }

  /** This thread's counters and histograms only: what the main thread adds to its own (no process gauges). */
  async counted(): Promise<MetricsJson> {
    const all = await this.metrics.registry.getMetricsAsJSON();
    return all.filter((m) => !this.metrics.constants.has(m.name));
  }

  /** Adds what `counts` gives (another thread's `counted()`) to every scrape. */
  addCounts(counts: () => Promise<MetricsJson>): void {
    this.others.push(counts);
  }

  /**
   * This thread's counters and histograms with the other threads' added: the registry itself when
   * there are none (the process metrics stay out of the sum: prom-client's aggregation would drop
   * `process_start_time_seconds`).
   */
  private async counts(): Promise<Registry> {
    if (this.others.length === 0) return this.metrics.registry;
    const [own, ...others] = await Promise.all([
      this.metrics.registry.getMetricsAsJSON(),
      ...this.others.map((c) => c()),
    ]);
    return AggregatorRegistry.aggregate([own!, ...others]);
  }

  /** The store gauges as JSON, brought up to date (a failed read keeps the last values). */
  async storeGauges(): Promise<MetricsJson> {
    await this.gauges.refresh().catch(() => undefined);
    return this.metrics.storeRegistry.getMetricsAsJSON();
  }

  /** The text of one scrape, in Prometheus's text format, with the store gauges brought up to date. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    await this.gauges.refresh().catch(() => undefined);
    const merged = Registry.merge([processMetrics(), await this.counts(), this.metrics.storeRegistry]);
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  wrapHandler(handler: (req: Req, res: Res) => void): (req: Req, res: Res) => void {
    return meteredHandler(this.metrics, this.rpcPaths, handler);
  }

  interceptor(): Interceptor {
    return rpcMetrics(this.metrics);
  }

  wrapCaller(caller: BranchCaller): BranchCaller {
    return meteredCaller(this.metrics, caller);
  }

  /** The engine's observer: dtm's per-pass counter and the time since creation. */
  readonly passes: PassObserver = {
    passEnded: (trans, { erred }) => {
      this.metrics.transactionProcess.inc({ model: trans.transType, status: erred ? "fail" : "ok" });
      this.metrics.transactionHandled.observe(
        { model: trans.transType },
        Math.max(0, (Date.now() - trans.createTime.getTime()) / 1000),
      );
    },
  };

  /** The repository's listener: a status change to succeed or failed finishes its transaction, once. */
  readonly statusChanged = (e: StatusChangeEvent): void => {
    if (isFinal(e.to)) this.metrics.finished.inc({ kind: e.kind, outcome: e.to });
  };

  /** The store's statement hook. */
  readonly statement = (e: StatementEvent): void => {
    const outcome = e.error === undefined ? "ok" : "error";
    this.metrics.statementDuration.observe({ statement: e.name, outcome }, e.durationMs / 1000);
  };

  /** The retention worker's report of each batch. */
  readonly retention = (removed: Removed): void => {
    this.metrics.retentionRemoved.inc({ table: "trans_global" }, removed.transactions);
    this.metrics.retentionRemoved.inc({ table: "trans_branch_op" }, removed.branches);
  };

  /** The group commit's batch hook. */
  readonly batch = (statement: string, size: number): void => {
    this.metrics.batchSize.observe({ statement }, size);
  };
}
