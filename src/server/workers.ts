import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { primaryMetricsMessage } from "./metrics/cluster-scrape";

/** What a worker sends the primary once its App serves. */
export interface WorkerReady {
  dtx: "ready";
  ports: number[];
}

/** How long the primary waits before replacing a worker that died after it had started. */
const RESPAWN_DELAY_MS = 1000;

/**
 * The primary process of `server.workers` > 1 (node:cluster): it serves nothing itself. It forks
 * the first worker and waits until it serves — so the schema is created and migrated once, and a
 * startup error ends the primary with the worker's exit code (the worker printed the line) — then
 * forks the others. The workers share the listening ports (the primary accepts and hands each
 * connection to one of them) and the store; they coordinate through leases as separate
 * coordinators would. A worker that dies later is replaced; if the replacement cannot start, the
 * primary stops the others and exits 1. SIGTERM/SIGINT are passed to every worker (each stops
 * gracefully) and the primary exits once all have. A scrape of `/api/metrics` on any worker asks
 * the primary, which gathers the metrics of every serving worker (metrics/cluster-scrape.ts).
 *
 * @returns the process exit code
 */
export function runPrimary(workers: number, logger: Logger): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let exitCode = 0;
    const live = new Set<Worker>();
    /** The workers that serve: the ones a scrape gathers metrics from. */
    const serving = new Set<Worker>();
    const finish = (code: number): void => {
      if (stopping) return;
      stopping = true;
      exitCode = code;
      for (const w of live) w.process.kill("SIGTERM");
      if (live.size === 0) resolve(exitCode);
    };
    /** Forks one worker: its pid and ports once it serves, or its exit code if it exits before. */
    const fork = (): Promise<{ pid: number; ports: number[] } | { code: number }> =>
      new Promise((started) => {
        const w = cluster.fork();
        live.add(w);
        let ready = false;
        w.on("message", (m: WorkerReady) => {
          if (primaryMetricsMessage(w, m, serving) || m?.dtx !== "ready") return;
          ready = true;
          serving.add(w);
          started({ pid: w.process.pid!, ports: m.ports });
        });
        w.on("exit", (code, signal) => {
          live.delete(w);
          serving.delete(w);
          if (stopping) return live.size === 0 && resolve(exitCode);
          if (!ready) return started({ code: code || 1 });
          logger.error({ pid: w.process.pid, code, signal }, "worker died; starting another");
          setTimeout(() => void replace(), RESPAWN_DELAY_MS);
        });
      });
    const replace = async (): Promise<void> => {
      if (stopping) return;
      const r = await fork();
      if ("pid" in r) return logger.info({ pid: r.pid }, "worker replaced");
      logger.error("a replacement worker could not start; stopping");
      finish(1);
    };
    const start = async (): Promise<void> => {
      const first = await fork();
      if ("code" in first) return finish(first.code);
      const rest = await Promise.all(Array.from({ length: workers - 1 }, fork));
      if (rest.some((r) => "code" in r)) return finish(1);
      logger.info({ ports: first.ports, workers: [...live].map((w) => w.process.pid) }, "dtx started");
    };
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => finish(0));
    void start();
  });
}

/** In a worker: tells the primary that this worker serves. */
export function announceReady(ports: number[]): void {
  const ready: WorkerReady = { dtx: "ready", ports };
  process.send?.(ready);
}
