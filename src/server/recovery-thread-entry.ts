import { parentPort, workerData } from "node:worker_threads";
import { Clock } from "../core/clock";
import { Store } from "../store/store";
import { keepClockSynced, syncClock } from "./clock-sync";
import { closeEngineParts, setupEngine } from "./engine-setup";
import { createLogger } from "./logger";
import { Observability } from "./observability";
import {
  RUNNING,
  SATURATED,
  type FromRecoveryThread,
  type RecoveryThreadData,
  type ToRecoveryThread,
} from "./recovery-thread";
import { RecoveryWorker, recoverySettings, type RecoverySource } from "./recovery-worker";
import { LineBatch } from "./line-batch";
import { lowerPriority } from "./thread-priority";
import { flushTracing } from "./tracing/sdk";

/**
 * The recovery thread (recovery-thread.ts): its own pool, clock, engine and recovery worker, under
 * the coordinator's id; its log lines go to the main thread in batches. Answers the main thread's
 * wake, stop-pass, metrics and stop messages.
 */
async function run(data: RecoveryThreadData, lines: LineBatch): Promise<void> {
  const port = parentPort!;
  const post = (m: FromRecoveryThread): void => port.postMessage(m);
  const { config } = data;
  const logger = createLogger(data.logLevel, lines, "json").child({ thread: "recovery" });
  // its warnings and errors only: the main thread has said "store ready" for the process, and a
  // second line would change what a log reader sees first at start
  const store = await Store.open({ ...config.store, migrate: false }, logger.child({}, { level: "warn" }));
  const clock = new Clock();
  const observed = await Observability.start(config, store, clock, logger);
  const parts = setupEngine(config, store, clock, observed, logger, {
    identity: { coordinatorId: data.coordinatorId, tag: "r" },
  });
  await syncClock(parts.repository, clock);
  const clockTimer = keepClockSynced(parts.repository, clock, logger);

  const cells = new Int32Array(data.shared);
  const source: RecoverySource = {
    get saturated() {
      return Atomics.load(cells, SATURATED) === 1;
    },
    async claimAndDrive(limit) {
      const claimed = await parts.engine.claimAndDrive(limit);
      Atomics.add(cells, RUNNING, claimed.passes.length);
      for (const p of claimed.passes) void p.finally(() => Atomics.sub(cells, RUNNING, 1));
      return claimed;
    },
  };
  const worker = new RecoveryWorker(source, recoverySettings(config), logger);

  const stop = async (timeoutMs: number): Promise<void> => {
    clearInterval(clockTimer);
    await worker.close();
    await closeEngineParts(parts, timeoutMs);
    await store.close();
    await flushTracing().catch((err) => logger.warn({ err }, "sending the last spans failed"));
    lines.flush();
    post({ dtx: "stopped" });
    port.close();
  };
  port.on("message", (m: ToRecoveryThread) => {
    if (m.dtx === "wake") worker.wake();
    else if (m.dtx === "stop-pass") parts.engine.stopPass(m.gid);
    else if (m.dtx === "stop") void stop(m.timeoutMs);
    else if (m.dtx === "metrics") {
      void observed.counted().then((metrics) => metrics && post({ dtx: "metrics", id: m.id, metrics }));
    }
  });
  lowerPriority(config.recovery.nice, logger);
  post({ dtx: "ready" });
}

const lines = new LineBatch((batch) =>
  parentPort!.postMessage({ dtx: "log", lines: batch } satisfies FromRecoveryThread),
);
run(workerData as RecoveryThreadData, lines).catch((err: Error) => {
  lines.flush();
  parentPort!.postMessage({ dtx: "failed", message: err.message } satisfies FromRecoveryThread);
  parentPort!.close();
});
