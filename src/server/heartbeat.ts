import type { Logger } from "pino";
import type { Clock } from "../core/clock";
import {
  beat,
  registerCoordinator,
  takeOverDead,
  unregisterCoordinator,
} from "../store/coordinator-statements";
import type { Queryable } from "../store/queryable";

/** Settings of the heartbeat (ms). */
export interface HeartbeatSettings {
  /** How often this coordinator beats and looks for dead ones. */
  intervalMs: number;
  /** A coordinator that has not beaten for this long is dead: its leased transactions are taken over. */
  deadAfterMs: number;
  /**
   * This process's host and ports: a registered coordinator with the same node is a predecessor
   * (this process holds its port now), taken over at start without waiting.
   */
  node: string;
  /** The store is this process's alone (the embedded PGlite): every other registered coordinator is dead. */
  exclusive: boolean;
}

/**
 * Registers this coordinator in the database and keeps its heartbeat fresh; at start and on every
 * beat, takes over the leased transactions of coordinators that stopped beating (made due at once,
 * see `takeOverDead`) and calls `onTakeover` so the recovery worker claims them without waiting for
 * its poll. A coordinator that finds itself declared dead (frozen past `deadAfter`) registers again;
 * the passes it was running lose their writes to whoever claimed their transactions (owner tokens).
 *
 * Others are judged only once this coordinator's own beats have gone through for `deadAfter` in a
 * row: after the database was out of reach, every coordinator's last beat is old, and each must get
 * the time to beat again before any is declared dead.
 */
export class Heartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Process time since which every beat went through (null: the last one failed). */
  private healthySince: number | null;

  private constructor(
    private readonly db: Queryable,
    private readonly id: string,
    private readonly clock: Clock,
    private readonly settings: HeartbeatSettings,
    private readonly logger: Logger,
    private readonly onTakeover: () => void,
  ) {
    this.healthySince = Date.now();
  }

  /** Registers, takes over predecessors (and, on an exclusive store, every other row), and starts beating. */
  static async start(
    db: Queryable,
    id: string,
    clock: Clock,
    settings: HeartbeatSettings,
    logger: Logger,
    onTakeover: () => void,
  ): Promise<Heartbeat> {
    const hb = new Heartbeat(db, id, clock, settings, logger, onTakeover);
    await registerCoordinator(db, id, settings.node);
    await hb.takeOver(settings.node, settings.exclusive);
    hb.schedule();
    return hb;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => this.schedule());
    }, this.settings.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (!(await beat(this.db, this.id))) {
        this.logger.warn({ coordinator: this.id }, "declared dead by another coordinator; registering again");
        await registerCoordinator(this.db, this.id, this.settings.node);
      }
      this.healthySince ??= Date.now();
      if (Date.now() - this.healthySince >= this.settings.deadAfterMs) await this.takeOver(null, false);
    } catch (err) {
      this.healthySince = null;
      this.logger.warn({ err }, "heartbeat failed");
    }
  }

  /** Takes over the leases of dead coordinators (see `takeOverDead`). */
  private async takeOver(node: string | null, all: boolean): Promise<void> {
    const { dead, freed } = await takeOverDead(
      this.db,
      this.id,
      this.clock.now(),
      this.settings.deadAfterMs,
      node,
      all,
    );
    if (dead.length === 0) return;
    this.logger.warn({ dead, freed }, "took over the transactions of coordinators that stopped beating");
    if (freed > 0) this.onTakeover();
  }

  /** Stops beating and removes this coordinator's row (its leases are handed back by the engine's close). */
  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await unregisterCoordinator(this.db, this.id).catch((err: unknown) =>
      this.logger.warn({ err }, "could not unregister the coordinator"),
    );
  }
}
