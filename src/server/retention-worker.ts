import type { Logger } from "pino";
import type { Clock } from "../core/clock";
import type { Queryable } from "../store/queryable";
import { deleteFinished } from "../store/retention-statements";

/** Settings of the retention of finished transactions (ms). */
export interface RetentionSettings {
  /** Finished transactions last written longer ago than this are deleted. */
  finishedMs: number;
  /** How often the worker looks. */
  intervalMs: number;
  /** Transactions deleted per statement. */
  batchSize: number;
}

/** Rows one run removed. */
export interface Removed {
  transactions: number;
  branches: number;
}

/**
 * Deletes finished transactions older than `retention.finished`, with their branches, every
 * `retention.interval`: in batches of `retention.batchSize` (one statement and one commit each) until
 * a batch comes back short, by one coordinator at a time (the statement's advisory lock; a coordinator
 * that finds it taken leaves the run to the holder).
 */
export class RetentionWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Removed> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
    private readonly settings: RetentionSettings,
    private readonly logger: Logger,
    private readonly onRemoved: (removed: Removed) => void = () => undefined,
  ) {}

  /** Starts looking: once at once, then every interval. */
  start(): void {
    const tick = (): void => {
      this.runOnce().catch((err) =>
        this.logger.warn({ err }, "retention: deleting finished transactions failed"),
      );
    };
    this.timer = setInterval(tick, this.settings.intervalMs).unref();
    tick();
  }

  /** One run (a run already going is joined): every batch of finished transactions past the retention. */
  runOnce(): Promise<Removed> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<Removed> {
    const before = new Date(this.clock.nowMs() - this.settings.finishedMs);
    const total: Removed = { transactions: 0, branches: 0 };
    while (!this.stopped) {
      const batch = await deleteFinished(this.db, before, this.settings.batchSize);
      total.transactions += batch.transactions;
      total.branches += batch.branches;
      this.onRemoved({ transactions: batch.transactions, branches: batch.branches });
      if (!batch.locked || batch.transactions < this.settings.batchSize) break;
    }
    if (total.transactions > 0) {
      this.logger.info(
        { ...total, before: before.toISOString() },
        `retention: deleted ${total.transactions} finished transactions (${total.branches} branch rows)`,
      );
    }
    return total;
  }

  /** Stops looking; waits for a batch under way. */
  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
