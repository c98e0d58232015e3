import type { Logger } from "pino";
import type { Config } from "./config";

/** Where the worker's passes come from: an Engine, or one whose submits run on another thread. */
export interface RecoverySource {
  /** Whether the submit path is saturated (admission control has submits waiting or no slot free). */
  readonly saturated: boolean;
  /** Claims up to `limit` due transactions and starts a pass for each. */
  claimAndDrive(limit: number): Promise<{ passes: Promise<unknown>[] }>;
}

/** Settings of the recovery worker (ms). */
export interface RecoverySettings {
  pollIntervalMs: number;
  batchSize: number;
  concurrency: number;
}

/** The recovery worker's settings as the configuration gives them. */
export function recoverySettings(config: Config): RecoverySettings {
  return {
    pollIntervalMs: config.recovery.pollInterval,
    batchSize: config.recovery.batchSize,
    concurrency: config.recovery.concurrency,
  };
}

/**
 * Re-drives unfinished transactions that are due: claims them in batches under a lease
 * (`for update skip locked`, so several coordinators on one database share the work) and runs up to
 * `concurrency` passes at once. A claim takes what the free slots can run (at most `batchSize`), and
 * the next one is made once half the slots are free, while the other passes still run: a backlog of
 * due transactions drains without the worker waiting on its own claims, and without one claim per
 * ended pass. Sleeps `pollInterval` (with jitter) when nothing more is due, and while the submit path
 * is saturated (admission control has submits waiting or no slot free).
 */
export class RecoveryWorker {
  private stopped = false;
  /** Ends the idle sleep (a wake() or close()). */
  private wakeUp: (() => void) | null = null;
  /** A wake() came while no sleep was on: the next sleep is skipped. */
  private woken = false;
  /** Ends the wait for free slots (a pass ended, or close()). */
  private slotFreed: (() => void) | null = null;
  private readonly loop: Promise<void>;
  /** Passes this worker started that have not ended. */
  private active = 0;

  constructor(
    private readonly engine: RecoverySource,
    private readonly settings: RecoverySettings,
    private readonly logger: Logger,
  ) {
    this.loop = this.run();
  }

  /** Free slots at which the next claim is made: half the slots (all of them for a concurrency of 1). */
  private get refillAt(): number {
    return Math.ceil(this.settings.concurrency / 2);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      // submits are waiting for a slot: leave the room (and the database) to them for a poll interval
      if (this.engine.saturated) {
        await this.sleep(this.jittered());
        continue;
      }
      const free = this.settings.concurrency - this.active;
      if (free < this.refillAt) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      const limit = Math.min(free, this.settings.batchSize);
      let claimed = 0;
      try {
        claimed = this.start(await this.engine.claimAndDrive(limit));
      } catch (err) {
        this.logger.error({ err }, "claiming due transactions failed");
      }
      // fewer than asked for: nothing more is due now; a full claim goes on at once (slots permitting)
      if (!this.stopped && claimed < limit) await this.sleep(this.jittered());
    }
  }

  /** Counts the claimed passes as running until each ends; returns how many. */
  private start({ passes }: { passes: Promise<unknown>[] }): number {
    this.active += passes.length;
    for (const p of passes) {
      void p.finally(() => {
        this.active--;
        if (this.settings.concurrency - this.active >= this.refillAt) this.slotFreed?.();
      });
    }
    return passes.length;
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
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }

  /** Claims at once instead of finishing the idle sleep (transactions were just made due). */
  wake(): void {
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  /** Stops claiming (the engine's close() deals with passes still running). */
  async close(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    this.slotFreed?.();
    await this.loop;
  }
}
