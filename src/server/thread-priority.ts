import { readlinkSync } from "node:fs";
import { getPriority, setPriority } from "node:os";
import type { Logger } from "pino";

/** The lowest CPU priority on Linux: the highest nice value. */
const LOWEST = 19;

/**
 * Lowers the CPU priority of the calling thread by `nice` steps below the process's (0 leaves it as it
 * is; the result stops at 19), as `nice -n` does for a command: a coordinator started under `nice -n 5`
 * runs its recovery thread at 15 with the default of 10, still below its own main thread. On Linux a
 * thread has a nice value of its own, set through its thread id (from /proc/thread-self), and starts
 * with its creator's; a higher value needs no privilege. Elsewhere the thread keeps the process's
 * priority.
 */
export function lowerPriority(nice: number, logger: Logger): void {
  if (nice === 0 || process.platform !== "linux") return;
  try {
    const threadId = Number(readlinkSync("/proc/thread-self").split("/").pop());
    setPriority(threadId, Math.min(LOWEST, getPriority(threadId) + nice));
  } catch (err) {
    logger.warn({ err, nice }, "recovery.nice: cannot lower the recovery thread's priority");
  }
}
