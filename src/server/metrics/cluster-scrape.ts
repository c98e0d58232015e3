import type { Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import type { Scrape } from "../metrics-route";
import type { AppMetrics, MetricsJson } from "./app-metrics";

/**
 * One scrape with worker processes (`server.workers` > 1): the worker that took the connection asks the
 * primary over IPC (`gather`); the primary asks every serving worker for what it counted (`own`) and
 * answers with all of them (`gathered`); the asking worker sums them — counters and histograms by
 * sum, the info gauges by max (1) — and adds the store gauges it read itself, once (they come from
 * the one database: summing them would multiply them by the number of workers).
 */
type ClusterMessage =
  | { dtx: "metrics-gather"; id: number }
  | { dtx: "metrics-gathered"; id: number; workers: MetricsJson[] }
  | { dtx: "metrics-gather-failed"; id: number; error: string }
  | { dtx: "metrics-own"; id: number }
  | { dtx: "metrics-owned"; id: number; metrics: MetricsJson };

/** How long the primary waits for each worker's metrics. */
const WORKER_TIMEOUT_MS = 5000;
/** How long a worker waits for the primary's answer (longer: the primary waits for the workers). */
const PRIMARY_TIMEOUT_MS = 2 * WORKER_TIMEOUT_MS;

/** Sends over IPC; a closed channel is no error here (the peer is gone; the exit says so). */
function sendTo(
  target: { send?: (m: ClusterMessage, cb: (err: Error | null) => void) => boolean },
  m: ClusterMessage,
): void {
  target.send?.(m, () => undefined);
}

function isClusterMessage(m: unknown): m is ClusterMessage {
  const kind = (m as { dtx?: unknown } | null)?.dtx;
  return typeof kind === "string" && kind.startsWith("metrics-");
}

/** Answers sent to the primary, by request id (in the primary: `own` requests; in a worker: `gather`). */
const waiting = new Map<number, (m: ClusterMessage) => void>();
let nextId = 0;

/** Sends `request(id)` and resolves with the answer of the same id; rejects after `timeoutMs`. */
function ask<T extends ClusterMessage>(
  send: (m: ClusterMessage) => void,
  request: (id: number) => ClusterMessage,
  what: string,
  timeoutMs: number,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new Error(`${what} did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    waiting.set(id, (m) => {
      clearTimeout(timer);
      waiting.delete(id);
      resolve(m as T);
    });
    send(request(id));
  });
}

/** An answer to one of this process's requests. */
function answered(m: ClusterMessage): void {
  waiting.get(m.id)?.(m);
}

/**
 * In the primary: handles a worker's metrics message — a `gather` request of `from`, or a worker's
 * answer with its own metrics. Returns false for any other message.
 */
export function primaryMetricsMessage(from: Worker, m: unknown, serving: ReadonlySet<Worker>): boolean {
  if (!isClusterMessage(m)) return false;
  if (m.dtx === "metrics-owned") answered(m);
  if (m.dtx !== "metrics-gather") return true;
  Promise.all([...serving].map(ownMetricsOf)).then(
    (all) => sendTo(from, { dtx: "metrics-gathered", id: m.id, workers: all.filter((j) => j !== null) }),
    (err: Error) => sendTo(from, { dtx: "metrics-gather-failed", id: m.id, error: err.message }),
  );
  return true;
}

/** One worker's own metrics; null when it exits first (its counts are gone with it). */
async function ownMetricsOf(w: Worker): Promise<MetricsJson | null> {
  if (!w.isConnected()) return null;
  let gone: () => void = () => undefined;
  const exited = new Promise<null>((resolve) => {
    gone = () => resolve(null);
    w.once("exit", gone);
  });
  const owned = ask<{ dtx: "metrics-owned"; id: number; metrics: MetricsJson }>(
    (m) => sendTo(w, m),
    (id) => ({ dtx: "metrics-own", id }),
    `worker ${w.process.pid}`,
    WORKER_TIMEOUT_MS,
  );
  // after an exit the request times out unheard: that is no failure
  owned.catch(() => undefined);
  try {
    return await Promise.race([owned.then((m) => m.metrics), exited]);
  } finally {
    w.off("exit", gone);
  }
}

/**
 * In a worker: answers the primary's requests for this worker's metrics, and returns the scrape
 * that sums every worker's (it rejects when a worker or the primary does not answer in time: a
 * partial sum would look like a counter reset to Prometheus).
 */
export function clusterScrape(metrics: AppMetrics): Scrape {
  process.on("message", (m: unknown) => {
    if (!isClusterMessage(m)) return;
    if (m.dtx !== "metrics-own") return answered(m);
    void metrics
      .ownMetrics()
      .then((own) => sendTo(process, { dtx: "metrics-owned", id: m.id, metrics: own }))
      .catch(() => undefined); // the primary's wait times out and the scrape says so
  });
  return async () => {
    const [gathered, store] = await Promise.all([
      ask(
        (m) => sendTo(process, m),
        (id) => ({ dtx: "metrics-gather", id }),
        "the primary process",
        PRIMARY_TIMEOUT_MS,
      ),
      metrics.storeGauges(),
    ]);
    if (gathered.dtx === "metrics-gather-failed") throw new Error(gathered.error);
    if (gathered.dtx !== "metrics-gathered") throw new Error(`unexpected answer ${gathered.dtx}`);
    const sum = AggregatorRegistry.aggregate([...gathered.workers, store]);
    return { contentType: sum.contentType, body: await sum.metrics() };
  };
}
