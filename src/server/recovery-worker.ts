import type { Logger } from "pino";
import type { Engine } from "../core/engine";

/** Settings of the recovery worker (ms). */
export interface RecoverySettings {
  pollIntervalMs: number;
  batchSize: number;
  concurrency: number;
}

/**
 * Re-drives unfinished transactions that are due: claims them in batches under a lease
 * (`for update skip locked`, so several coordinators on one database share the work) and runs up to
 * `concurrency` passes at once. Sleeps `pollInterval` (with jitter) when nothing is due, and while the
 * submit path is saturated (admission control has submits waiting or no slot free).
 */
export class RecoveryWorker {
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  /** A wake() came while no sleep was on: the next sleep is skipped. */
  private woken = false;
  private readonly loop: Promise<void>;
  /** Passes this worker started that have not ended. */
  private active = 0;

  constructor(
    private readonly engine: Engine,
    private readonly settings: RecoverySettings,
    private readonly logger: Logger,
  ) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const free = this.settings.concurrency - this.active;
      let claimed = 0;
      // submits are waiting for a slot: leave the room (and the database) to them for a poll interval
      const yieldToSubmits = this.engine.saturated;
      if (free > 0 && !yieldToSubmits) {
        try {
          const { passes } = await this.engine.claimAndDrive(Math.min(free, this.settings.batchSize));
          claimed = passes.length;
          this.active += claimed;
          for (const p of passes) {
            void p.finally(() => {
              this.active--;
              this.wakeUp?.();
            });
          }
        } catch (err) {
          this.logger.error({ err }, "claiming due transactions failed");
        }
      }
      // nothing due, or every slot busy: wait for the poll interval or a pass to end
      if (!this.stopped && (claimed === 0 || free <= claimed || yieldToSubmits))
        await this.sleep(this.jittered());
    }
  }

  private jittered(): number {
    return this.settings.pollIntervalMs * (0.75 + Math.random() * 0.5);
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  /** Claims at once instead of finishing the idle sleep (transactions were just made due). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Stops claiming (the engine's close() deals with passes still running). */
  async close(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
  }
}
