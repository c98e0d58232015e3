import { extname, join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Logger } from "pino";
import type { OtherPasses } from "../core/engine";
import type { Config } from "./config";
import { writeLines } from "./logger";
import type { MetricsJson } from "./metrics/app-metrics";

/** What the recovery thread starts from (its `workerData`). */
export interface RecoveryThreadData {
  config: Config;
  /** The coordinator's id: the thread's owner tokens are `<id>-r<n>` (driver.ts). */
  coordinatorId: string;
  /** The main thread's log level (an embedder's logger may differ from `log.level`). */
  logLevel: string;
  /** Int32 cells shared by both threads: `SATURATED` (main writes), `RUNNING` (the thread writes). */
  shared: SharedArrayBuffer;
}

/** Cell of `shared`: 1 while the main thread's submit path is saturated (admission control). */
export const SATURATED = 0;
/** Cell of `shared`: the passes the recovery thread runs now. */
export const RUNNING = 1;

/** Messages from the main thread. */
export type ToRecoveryThread =
  | { dtx: "wake" }
  | { dtx: "stop-pass"; gid: string }
  | { dtx: "metrics"; id: number }
  | { dtx: "stop"; timeoutMs: number };

/** Messages from the recovery thread. */
export type FromRecoveryThread =
  | { dtx: "ready" }
  | { dtx: "failed"; message: string }
  | { dtx: "log"; lines: string }
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
 * the coordinator's id (owner tokens `<id>-r<n>`), runs `recovery.nice` steps below the process's
 * CPU priority, and backs off while the main thread's submit path is saturated. Its log lines are
 * written through the main thread's logger; a scrape of `/api/metrics` adds its counts; a force-stop
 * reaches its passes. A thread that dies is logged and replaced; `close` stops it gracefully
 * (`server.shutdownTimeout`).
 */
export class RecoveryThread implements OtherPasses {
  private worker: Worker | null;
  private readonly cells: Int32Array;
  private readonly publisher: NodeJS.Timeout;
  private readonly waiting = new Map<number, (m: MetricsJson) => void>();
  private nextId = 0;
  private closing = false;
  /** A replacement being started (between a thread's death and the replacement's ready). */
  private replacing: Promise<void> | null = null;

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
   * Whether a thread can load the entry: the build's .js always; the sources' .ts only under a
   * require hook for .ts (which the thread inherits through the process's `-r` options).
   */
  static loadable(): boolean {
    return extname(__filename) !== ".ts" || typeof require.extensions?.[".ts"] === "function";
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
    const data: RecoveryThreadData = {
      config,
      coordinatorId,
      logLevel: logger.level,
      shared: new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT),
    };
    return new RecoveryThread(data, await spawn(data, logger), saturated, logger);
  }

  /** Passes the thread runs now. */
  get running(): number {
    return Atomics.load(this.cells, RUNNING);
  }

  /** Claims at once instead of finishing the thread's idle sleep (transactions were just made due). */
  wake(): void {
    this.worker?.postMessage({ dtx: "wake" } satisfies ToRecoveryThread);
  }

  /** Stops the thread's pass of `gid`, if one runs (a force-stop). */
  stop(gid: string): void {
    this.worker?.postMessage({ dtx: "stop-pass", gid } satisfies ToRecoveryThread);
  }

  /** What the thread counted (its counters and histograms), for the scrape to add. */
  counted(): Promise<MetricsJson> {
    const w = this.worker;
    if (!w) return Promise.reject(new Error("the recovery thread is being replaced"));
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
      w.postMessage({ dtx: "metrics", id } satisfies ToRecoveryThread);
    });
  }

  /** Stops claiming, lets the thread's passes finish (or hands their leases back) and ends the thread. */
  async close(): Promise<void> {
    this.closing = true;
    clearInterval(this.publisher);
    // a replacement on its way is stopped like the thread it replaces, once it is ready
    await this.replacing;
    const w = this.worker;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
    w.postMessage({
      dtx: "stop",
      timeoutMs: this.data.config.server.shutdownTimeout,
    } satisfies ToRecoveryThread);
    await exited;
  }

  private watch(w: Worker): void {
    w.on("message", (m: FromRecoveryThread) => {
      if (m.dtx === "log") writeLines(this.logger, m.lines);
      else if (m.dtx === "metrics") this.waiting.get(m.id)?.(m.metrics);
    });
    w.on("error", (err) => this.logger.error({ err }, "recovery thread failed"));
    w.once("exit", (code) => {
      this.worker = null;
      // its passes ended with it
      Atomics.store(this.cells, RUNNING, 0);
      if (this.closing) return;
      this.logger.error({ code }, "recovery thread stopped; starting another");
      this.replacing = this.replace();
    });
  }

  /** Starts threads, a second apart, until one is ready (or the App closes). */
  private async replace(): Promise<void> {
    for (;;) {
      await new Promise((r) => setTimeout(r, RESTART_DELAY_MS));
      if (this.closing) break;
      try {
        const w = await spawn(this.data, this.logger);
        this.worker = w;
        this.watch(w);
        this.logger.info("recovery thread replaced");
        break;
      } catch (err) {
        this.logger.error({ err }, "recovery thread could not start; trying again");
      }
    }
    this.replacing = null;
  }
}

/**
 * The thread, running recovery-thread-entry in the form this file runs in (the build's .js, or the
 * sources' .ts under a require hook the thread inherits with the process's `-r` options). Its log
 * lines are written through `logger` from the first one on.
 */
function spawn(data: RecoveryThreadData, logger: Logger): Promise<Worker> {
  const entry = join(__dirname, `recovery-thread-entry${extname(__filename)}`);
  const w = new Worker(`require(${JSON.stringify(entry)});`, { eval: true, workerData: data });
  return new Promise((resolve, reject) => {
    const early = (err: Error): void => reject(err);
    const exit = (code: number): void => reject(new Error(`the recovery thread exited (code ${code})`));
    const starting = (m: FromRecoveryThread): void => {
      if (m.dtx === "log") return writeLines(logger, m.lines);
      if (m.dtx !== "ready" && m.dtx !== "failed") return;
      w.off("error", early).off("exit", exit).off("message", starting);
      if (m.dtx === "ready") return resolve(w);
      void w.terminate();
      reject(new Error(m.message));
    };
    w.on("error", early).on("exit", exit).on("message", starting);
  });
}
