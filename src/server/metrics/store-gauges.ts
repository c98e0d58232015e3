import type { Clock } from "../../core/clock";
import type { Queryable } from "../../store/queryable";
import { unfinishedStats } from "../../store/stats-statements";
import type { DtxMetrics } from "./dtx-metrics";

/**
 * The gauges read from the store — unfinished transactions by kind and status, the oldest one's age,
 * the due backlog — refreshed by a scrape at most once per `intervalMs`: scrapes in between (and
 * concurrent ones) answer the last reading, so Prometheus's scrape rate never drives the query rate.
 */
export class StoreGauges {
  private readAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly metrics: DtxMetrics,
    private readonly db: Queryable,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Re-reads the store when the last reading is older than the interval; a failed read keeps the old values. */
  refresh(): Promise<void> {
    if (this.reading) return this.reading;
    if (performance.now() - this.readAt < this.intervalMs) return Promise.resolve();
    this.reading = this.read().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async read(): Promise<void> {
    const now = this.clock.now();
    const groups = await unfinishedStats(this.db, now);
    const { unfinished, oldestAge, dueBacklog } = this.metrics;
    unfinished.reset();
    oldestAge.reset();
    let due = 0;
    for (const g of groups) {
      const labels = { kind: g.kind, status: g.status };
      unfinished.set(labels, g.count);
      oldestAge.set(labels, Math.max(0, (now.getTime() - g.oldest.getTime()) / 1000));
      due += g.due;
    }
    dueBacklog.set(due);
    this.readAt = performance.now();
  }
}
