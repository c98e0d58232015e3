import { extname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { Config, LogFormat } from "./config";
import type { MetricsJson } from "./metrics/app-metrics";

/** What the recovery thread starts from (its `workerData`). */
export interface RecoveryThreadData {
  config: Config;
  /** The coordinator's id: the thread's owner tokens are `<id>-r<n>` (driver.ts). */
  coordinatorId: string;
  /** The main thread's resolved log format (a thread's stdout is no terminal). */
  logFormat: Exclude<LogFormat, "auto">;
  /** Int32 cells shared by both threads: `SATURATED` (main writes), `RUNNING` (the thread writes). */
  shared: SharedArrayBuffer;
}

/** Cell of `shared`: 1 while the main thread's submit path is saturated (admission control). */
export const SATURATED = 0;
/** Cell of `shared`: the passes the recovery thread runs now. */
export const RUNNING = 1;

/** Messages from the main thread. */
export type ToRecoveryThread =
  { dtx: "wake" } | { dtx: "metrics"; id: number } | { dtx: "stop"; timeoutMs: number };

/** Messages from the recovery thread. */
export type FromRecoveryThread =
  | { dtx: "ready" }
  | { dtx: "failed"; message: string }
  | { dtx: "metrics"; id: number; metrics: MetricsJson }
  | { dtx: "stopped" };

/** How often the main thread publishes whether its submit path is saturated. */
const SATURATION_PUBLISH_MS = 50;
/** How long a scrape waits for the thread's metrics. */
const METRICS_TIMEOUT_MS = 5000;
/** How long before a recovery thread that died is replaced. */
const RESTART_DELAY_MS = 1000;

/**
 * The recovery worker on a thread of its own (`recovery.thread`, on Postgres): its passes' branch
 * calls, store writes and JSON work run on the thread's event loop, so a backlog of due transactions
 * (after an outage, or dtm's `resetCronTime`) does not queue in front of new submits on the main
 * thread's. The thread has its own pool of `store.poolSize` connections and its own engine under
 * the coordinator's id (owner tokens `<id>-r<n>`), and backs off while the main thread's submit path
 * is saturated. A scrape of `/api/metrics` adds the thread's counts to the main thread's. A thread
 * that dies is logged and replaced; `close` stops it gracefully (`server.shutdownTimeout`).
 */
export class RecoveryThread {
  private worker: Worker;
  private readonly cells: Int32Array;
  private readonly publisher: NodeJS.Timeout;
  private readonly waiting = new Map<number, (m: MetricsJson) => void>();
  private nextId = 0;
  private closing = false;
  /** Whether `worker` runs (false from its exit until a replacement is ready). */
  private running = true;

  private constructor(
    private readonly data: RecoveryThreadData,
    first: Worker,
    saturated: () => boolean,
    private readonly logger: Logger,
  ) {
    this.worker = first;
    this.cells = new Int32Array(data.shared);
    this.publisher = setInterval(() => {
      Atomics.store(this.cells, SATURATED, saturated() ? 1 : 0);
    }, SATURATION_PUBLISH_MS).unref();
    this.watch(first);
  }

  /**
   * Starts the thread and resolves once its engine is ready.
   *
   * @throws Error with the thread's reason when it cannot start (no connection, say)
   */
  static async start(
    config: Config,
    coordinatorId: string,
    saturated: () => boolean,
    logger: Logger,
  ): Promise<RecoveryThread> {
    const { format } = config.log;
    const data: RecoveryThreadData = {
      config,
      coordinatorId,
      logFormat: format !== "auto" ? format : process.stdout.isTTY ? "pretty" : "json",
      shared: new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT),
    };
    return new RecoveryThread(data, await spawn(data), saturated, logger);
  }

  /** Passes the thread runs now. */
  get runningPasses(): number {
    return Atomics.load(this.cells, RUNNING);
  }

  /** Claims at once instead of finishing the thread's idle sleep (transactions were just made due). */
  wake(): void {
    this.send({ dtx: "wake" });
  }

  /** What the thread counted (its counters and histograms), for the scrape to add. */
  counted(): Promise<MetricsJson> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`the recovery thread did not answer within ${METRICS_TIMEOUT_MS / 1000} s`));
      }, METRICS_TIMEOUT_MS);
      this.waiting.set(id, (metrics) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(metrics);
      });
      this.send({ dtx: "metrics", id });
    });
  }

  /** Stops claiming, lets the thread's passes finish (or hands their leases back) and ends the thread. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.publisher);
    if (!this.running) return;
    const exited = new Promise<void>((resolve) => this.worker.once("exit", () => resolve()));
    this.send({ dtx: "stop", timeoutMs: this.data.config.server.shutdownTimeout });
    await exited;
  }

  private send(m: ToRecoveryThread): void {
    this.worker.postMessage(m);
  }

  private watch(w: Worker): void {
    w.on("message", (m: FromRecoveryThread) => {
      if (m.dtx === "metrics") this.waiting.get(m.id)?.(m.metrics);
    });
    w.on("error", (err) => this.logger.error({ err }, "recovery thread failed"));
    w.once("exit", (code) => {
      this.running = false;
      if (this.closing) return;
      this.logger.error({ code }, "recovery thread stopped; starting another");
      setTimeout(() => void this.restart(), RESTART_DELAY_MS).unref();
    });
  }

  private async restart(): Promise<void> {
    if (this.closing) return;
    try {
      const w = await spawn(this.data);
      if (this.closing) return void (await w.terminate());
      this.worker = w;
      this.running = true;
      this.watch(w);
      this.logger.info("recovery thread replaced");
    } catch (err) {
      this.logger.error({ err }, "recovery thread could not start; trying again");
      setTimeout(() => void this.restart(), RESTART_DELAY_MS).unref();
    }
  }
}

/**
 * The thread, running recovery-thread-entry in the form this file runs in (the build's .js, or the
 * sources' .ts under a require hook the thread inherits with the process's `-r` options).
 */
function spawn(data: RecoveryThreadData): Promise<Worker> {
  const entry = join(__dirname, `recovery-thread-entry${extname(__filename)}`);
  const w = new Worker(`require(${JSON.stringify(entry)});`, { eval: true, workerData: data });
  return new Promise((resolve, reject) => {
    const early = (err: Error): void => reject(err);
    const exit = (code: number): void => reject(new Error(`the recovery thread exited (code ${code})`));
    const ready = (m: FromRecoveryThread): void => {
      if (m.dtx !== "ready" && m.dtx !== "failed") return;
      w.off("error", early).off("exit", exit).off("message", ready);
      if (m.dtx === "ready") return resolve(w);
      void w.terminate();
      reject(new Error(m.message));
    };
    w.on("error", early).on("exit", exit).on("message", ready);
  });
}
