import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import type { Logger } from "pino";

/**
 * Lowers the CPU priority of the calling thread to `nice` (0–19; 0 leaves it as it is). On Linux a
 * thread has a nice value of its own, set through its thread id (from /proc/thread-self); a higher
 * value needs no privilege. Elsewhere the thread keeps the process's priority.
 */
export function lowerPriority(nice: number, logger: Logger): void {
  if (nice === 0 || process.platform !== "linux") return;
  try {
    const threadId = Number(readlinkSync("/proc/thread-self").split("/").pop());
    setPriority(threadId, nice);
  } catch (err) {
    logger.warn({ err, nice }, "recovery.nice: cannot lower the recovery thread's priority");
  }
}
