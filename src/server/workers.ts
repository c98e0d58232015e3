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
 * primary stops the others and exits 1. SIGTERM/SIGINT ask every worker to stop gracefully, a
 * second one to stop at once, and the primary exits once all have. A serving worker is asked by a
 * message, not a signal: a terminal's Ctrl-C (or systemd) signals the worker too, and the request
 * must not count as that signal's second. A scrape of `/api/metrics` on any worker asks the primary,
 * which gathers the metrics of every serving worker (metrics/cluster-scrape.ts).
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
      // a worker still starting has no handler yet: the signal's default action ends it
      for (const w of live) {
        if (serving.has(w)) askToStop(w, false);
        else w.process.kill("SIGTERM");
      }
      if (live.size === 0) resolve(exitCode);
    };
    const onSignal = (): void => {
      if (!stopping) return finish(0);
      // a second signal: the operator does not want to wait for the graceful stop
      exitCode = 1;
      for (const w of serving) askToStop(w, true);
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
    for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, onSignal);
    void start();
  });
}

/** What the primary sends a serving worker to stop it: gracefully, or (`now`) at once. */
interface StopRequest {
  dtx: "stop";
  now: boolean;
}

function askToStop(w: Worker, now: boolean): void {
  const stop: StopRequest = { dtx: "stop", now };
  if (w.isConnected()) w.send(stop);
}

/**
 * In a worker: runs `stop` when the primary asks this worker to stop (`now`: at once). Installed
 * before the worker announces that it serves, since from then on the primary asks by message.
 */
export function onStopRequest(stop: (now: boolean) => void): void {
  process.on("message", (m: StopRequest) => {
    if (m?.dtx === "stop") stop(m.now);
  });
}

/** In a worker: tells the primary that this worker serves. */
export function announceReady(ports: number[]): void {
  const ready: WorkerReady = { dtx: "ready", ports };
  process.send?.(ready);
}
