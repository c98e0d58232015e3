import { Gauge, Registry } from "prom-client";
import { LeanCounter, LeanHistogram } from "./lean-metrics";

/** Durations in seconds, 5 ms to 10 s: prom-client's default buckets. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Group-commit batch sizes: powers of two up to the largest batch (128). */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128];
/** Store statements: 0.5 ms to 2.5 s. */
const STATEMENT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Every metric of one coordinator process, in a registry of its own (so tests may run several
 * coordinators in one process). dtm's metrics keep dtm's names, types and labels (spec §9), except that
 * `api` is the route's name; dtx's own (`dtx_*`) have bounded labels only: never a gid, a URL or a
 * branch id. With worker processes (`server.workers`), a scrape sums `registry` over the workers
 * (the info gauges, 1 in each, by `max`) and adds `storeRegistry`, read once (cluster-scrape.ts).
 */
export class DtxMetrics {
  /** What this process counted: summed over worker processes. */
  readonly registry = new Registry();
  /** The gauges read from the store: the same in every process, so reported once per scrape, never summed. */
  readonly storeRegistry = new Registry();

  /** dtm: every API request, `type` http|grpc, `api` the route, `status` ok|fail. */
  readonly serverProcess = this.counter(
    "dtm_server_process_total",
    "API requests served, by protocol (http or grpc), route and outcome (ok or fail).",
    ["type", "api", "status"],
  );

  /** dtm: the duration of every API request, seconds. */
  readonly serverDuration = this.histogram(
    "dtm_server_response_duration",
    "Time to answer an API request, in seconds, by protocol and route.",
    ["type", "api"],
  );

  /** dtm: every pass over a transaction (not once per transaction), `model` its kind. */
  readonly transactionProcess = this.counter(
    "dtm_transaction_process_total",
    "Processing passes over transactions, by kind (model) and outcome: fail when a branch call erred.",
    ["model", "status"],
  );

  /** dtm: seconds from a transaction's creation to the end of each of its passes. */
  readonly transactionHandled = this.histogram(
    "dtm_transaction_handled_duration",
    "Seconds from a transaction's creation to the end of each processing pass, by kind (model).",
    ["model"],
  );

  /** dtm: every branch call. */
  readonly branchProcess = this.counter(
    "dtm_branch_process_total",
    "Branch calls, by kind (model), branch id, operation (branchtype) and outcome (ok or fail).",
    ["model", "branchid", "branchtype", "status"],
  );

  /** Transactions that reached succeed or failed: once per transaction. */
  readonly finished = this.counter(
    "dtx_transactions_finished_total",
    "Transactions finished, once each, by kind and outcome (succeed or failed).",
    ["kind", "outcome"],
  );

  /** Branch call duration by kind, operation, protocol and outcome. */
  readonly branchDuration = this.histogram(
    "dtx_branch_call_duration_seconds",
    "Branch call duration, in seconds, by kind, operation, protocol and outcome.",
    ["kind", "op", "protocol", "outcome"],
  );

  /** Items per group-commit batch, by statement. */
  readonly batchSize = this.histogram(
    "dtx_store_batch_size",
    "Transactions written per group-commit statement, by statement.",
    ["statement"],
    BATCH_BUCKETS,
  );

  /** Store statement duration, by statement (the function that owns it). */
  readonly statementDuration = this.histogram(
    "dtx_store_statement_duration_seconds",
    "Store statement duration, in seconds, by statement; failed ones are counted with outcome error.",
    ["statement", "outcome"],
    STATEMENT_BUCKETS,
  );

  /** Rows deleted by the retention of finished transactions, by table. */
  readonly retentionRemoved = this.counter(
    "dtx_retention_removed_total",
    "Rows deleted by retention.finished, by table (trans_global: transactions; trans_branch_op: their branches).",
    ["table"],
  );

  /** Unfinished transactions by kind and status, read periodically from the store. */
  readonly unfinished = this.storeGauge(
    "dtx_transactions_unfinished",
    "Unfinished transactions in the store, by kind and status (read at most once per metrics.refreshInterval).",
    ["kind", "status"],
  );

  /** Age of the oldest unfinished transaction by kind and status. */
  readonly oldestAge = this.storeGauge(
    "dtx_transactions_unfinished_oldest_age_seconds",
    "Age, in seconds, of the oldest unfinished transaction, by kind and status.",
    ["kind", "status"],
  );

  /** Transactions due but not claimed by any coordinator. */
  readonly dueBacklog = this.storeGauge(
    "dtx_due_backlog",
    "Unfinished transactions whose next look is due and that no coordinator has claimed.",
    [],
  );

  /** The names of the constant gauges (info and process count): a process's, not a thread's. */
  readonly constants = new Set<string>();

  constructor(versions: { dtx: string; grpc: string }) {
    this.constant(
      "dtm_server_info",
      "The server: dtm's info metric (gin_version empty: dtx has no gin; grpc_version: grpc-js).",
      { gin_version: "", grpc_version: versions.grpc },
      "max",
    );
    this.constant("dtx_info", "The dtx coordinator: its version.", { version: versions.dtx }, "max");
    this.constant(
      "dtx_processes",
      "Coordinator processes whose counts this scrape sums: server.workers, or 1.",
      {},
      "sum",
    );
  }

  /** Counters and histograms are lean-metrics.ts's: they are recorded on every saga's path. */
  private counter<T extends string>(name: string, help: string, labelNames: readonly T[]): LeanCounter<T> {
    return new LeanCounter(name, help, labelNames, this.registry);
  }

  private histogram<T extends string>(
    name: string,
    help: string,
    labelNames: readonly T[],
    buckets = DURATION_BUCKETS,
  ): LeanHistogram<T> {
    return new LeanHistogram(name, help, labelNames, buckets, this.registry);
  }

  /** A gauge read from the store: in `storeRegistry`; where registries are aggregated, the max. */
  private storeGauge<T extends string>(name: string, help: string, labelNames: readonly T[]): Gauge<T> {
    return new Gauge({ name, help, labelNames, aggregator: "max", registers: [this.storeRegistry] });
  }

  /** A gauge of value 1 with `labels`, and how worker processes' values are aggregated. */
  private constant(
    name: string,
    help: string,
    labels: Record<string, string>,
    aggregator: "max" | "sum",
  ): void {
    const gauge = new Gauge({
      name,
      help,
      labelNames: Object.keys(labels),
      aggregator,
      registers: [this.registry],
    });
    gauge.set(labels, 1);
    this.constants.add(name);
  }
}
