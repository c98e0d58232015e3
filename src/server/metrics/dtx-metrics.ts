import { Counter, Gauge, Histogram, Registry } from "prom-client";

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
  readonly serverProcess = new Counter({
    name: "dtm_server_process_total",
    help: "API requests served, by protocol (http or grpc), route and outcome (ok or fail).",
    labelNames: ["type", "api", "status"] as const,
    registers: [this.registry],
  });

  /** dtm: the duration of every API request, seconds. */
  readonly serverDuration = new Histogram({
    name: "dtm_server_response_duration",
    help: "Time to answer an API request, in seconds, by protocol and route.",
    labelNames: ["type", "api"] as const,
    registers: [this.registry],
  });

  /** dtm: every pass over a transaction (not once per transaction), `model` its kind. */
  readonly transactionProcess = new Counter({
    name: "dtm_transaction_process_total",
    help: "Processing passes over transactions, by kind (model) and outcome: fail when a branch call erred.",
    labelNames: ["model", "status"] as const,
    registers: [this.registry],
  });

  /** dtm: seconds from a transaction's creation to the end of each of its passes. */
  readonly transactionHandled = new Histogram({
    name: "dtm_transaction_handled_duration",
    help: "Seconds from a transaction's creation to the end of each processing pass, by kind (model).",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  /** dtm: every branch call. */
  readonly branchProcess = new Counter({
    name: "dtm_branch_process_total",
    help: "Branch calls, by kind (model), branch id, operation (branchtype) and outcome (ok or fail).",
    labelNames: ["model", "branchid", "branchtype", "status"] as const,
    registers: [this.registry],
  });

  /** Transactions that reached succeed or failed: once per transaction. */
  readonly finished = new Counter({
    name: "dtx_transactions_finished_total",
    help: "Transactions finished, once each, by kind and outcome (succeed or failed).",
    labelNames: ["kind", "outcome"] as const,
    registers: [this.registry],
  });

  /** Branch call duration by kind, operation, protocol and outcome. */
  readonly branchDuration = new Histogram({
    name: "dtx_branch_call_duration_seconds",
    help: "Branch call duration, in seconds, by kind, operation, protocol and outcome.",
    labelNames: ["kind", "op", "protocol", "outcome"] as const,
    registers: [this.registry],
  });

  /** Items per group-commit batch, by statement. */
  readonly batchSize = new Histogram({
    name: "dtx_store_batch_size",
    help: "Transactions written per group-commit statement, by statement.",
    labelNames: ["statement"] as const,
    buckets: BATCH_BUCKETS,
    registers: [this.registry],
  });

  /** Store statement duration, by statement (the function that owns it). */
  readonly statementDuration = new Histogram({
    name: "dtx_store_statement_duration_seconds",
    help: "Store statement duration, in seconds, by statement; failed ones are counted with outcome error.",
    labelNames: ["statement", "outcome"] as const,
    buckets: STATEMENT_BUCKETS,
    registers: [this.registry],
  });

  /** Rows deleted by the retention of finished transactions, by table. */
  readonly retentionRemoved = new Counter({
    name: "dtx_retention_removed_total",
    help: "Rows deleted by retention.finished, by table (trans_global: transactions; trans_branch_op: their branches).",
    labelNames: ["table"] as const,
    registers: [this.registry],
  });

  /** Unfinished transactions by kind and status, read periodically from the store. */
  readonly unfinished = new Gauge({
    name: "dtx_transactions_unfinished",
    help: "Unfinished transactions in the store, by kind and status (read at most once per metrics.refreshInterval).",
    labelNames: ["kind", "status"] as const,
    aggregator: "max",
    registers: [this.storeRegistry],
  });

  /** Age of the oldest unfinished transaction by kind and status. */
  readonly oldestAge = new Gauge({
    name: "dtx_transactions_unfinished_oldest_age_seconds",
    help: "Age, in seconds, of the oldest unfinished transaction, by kind and status.",
    labelNames: ["kind", "status"] as const,
    aggregator: "max",
    registers: [this.storeRegistry],
  });

  /** Transactions due but not claimed by any coordinator. */
  readonly dueBacklog = new Gauge({
    name: "dtx_due_backlog",
    help: "Unfinished transactions whose next look is due and that no coordinator has claimed.",
    aggregator: "max",
    registers: [this.storeRegistry],
  });

  constructor(versions: { dtx: string; grpc: string }) {
    const info = new Gauge({
      name: "dtm_server_info",
      help: "The server: dtm's info metric (gin_version empty: dtx has no gin; grpc_version: grpc-js).",
      labelNames: ["gin_version", "grpc_version"] as const,
      aggregator: "max",
      registers: [this.registry],
    });
    info.set({ gin_version: "", grpc_version: versions.grpc }, 1);
    const dtx = new Gauge({
      name: "dtx_info",
      help: "The dtx coordinator: its version.",
      labelNames: ["version"] as const,
      aggregator: "max",
      registers: [this.registry],
    });
    dtx.set({ version: versions.dtx }, 1);
    const processes = new Gauge({
      name: "dtx_processes",
      help: "Coordinator processes whose counts this scrape sums: server.workers, or 1.",
      aggregator: "sum",
      registers: [this.registry],
    });
    processes.set(1);
  }
}
