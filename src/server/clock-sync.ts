import type { Logger } from "pino";
import type { Clock } from "../core/clock";
import type { TransRepository } from "../core/repository";

/** How often the clock re-anchors to the database's. */
export const CLOCK_SYNC_MS = 60_000;

/** Anchors `clock` to the database's time, read through `repository` and measured around the round trip. */
export async function syncClock(repository: TransRepository, clock: Clock): Promise<void> {
  const sent = Date.now();
  const now = await repository.now();
  clock.anchor(now.getTime(), sent, Date.now());
}

/** Re-anchors `clock` every CLOCK_SYNC_MS (a failed read is logged and the clock keeps its anchor); clear the timer to stop. */
export function keepClockSynced(repository: TransRepository, clock: Clock, logger: Logger): NodeJS.Timeout {
  return setInterval(() => {
    syncClock(repository, clock).catch((err) => logger.warn({ err }, "clock sync failed"));
  }, CLOCK_SYNC_MS).unref();
}
