import type { Metric, Registry } from "prom-client";

/**
 * A counter and a histogram for the per-saga hot path, registered in a prom-client registry and
 * written by it like its own. prom-client's counters and histograms validate, sort and hash the
 * label object on every call, about 0.6 to 1 µs each, a dozen times per saga; these find a series
 * through one map per label, keyed by the label's value, and add to plain numbers — about 0.1 µs
 * (bench/metrics-recording-cost.ts). Their labels are dtx's own, fixed by the code, so they are not
 * validated per call: a wrong name is a typo the tests of /api/metrics catch.
 */
abstract class LeanMetric<T extends string, S> {
  /** One level of maps per label, keyed by its value (no key string is built per call); the state at the last. */
  private readonly root = new Map<string, unknown>();
  private readonly series: Array<{ labels: Record<T, string>; state: S }> = [];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly T[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** prom-client's aggregator over worker processes (AggregatorRegistry): counts add up. */
  readonly aggregator = "sum";

  /** The state of the series of `labels`, created at the first call. */
  protected at(labels: Record<T, string>): S {
    const names = this.labelNames;
    if (names.length === 0) return (this.series[0] ??= this.add(labels)).state;
    let level = this.root;
    const last = names.length - 1;
    for (let i = 0; i < last; i++) {
      const value = labels[names[i]!];
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) level.set(value, (next = new Map()));
      level = next;
    }
    const value = labels[names[last]!];
    let state = level.get(value) as S | undefined;
    if (state === undefined) level.set(value, (state = this.add(labels).state));
    return state;
  }

  private add(labels: Record<T, string>): { labels: Record<T, string>; state: S } {
    const own = {} as Record<T, string>;
    for (const n of this.labelNames) own[n] = labels[n];
    const s = { labels: own, state: this.fresh() };
    this.series.push(s);
    return s;
  }

  protected abstract fresh(): S;

  /** Every series with its state, for `get`. */
  protected all(): ReadonlyArray<{ labels: Record<T, string>; state: S }> {
    return this.series;
  }

  reset(): void {
    this.root.clear();
    this.series.length = 0;
  }
}

/** A monotonic counter (`inc`), as prom-client's `Counter`. */
export class LeanCounter<T extends string> extends LeanMetric<T, { value: number }> {
  readonly type = "counter";

  inc(labels: Record<T, string>, by = 1): void {
    this.at(labels).value += by;
  }

  protected fresh(): { value: number } {
    return { value: 0 };
  }

  /** What prom-client's registry reads (`getMetricsAsJSON`, the text format). */
  get() {
    const values = this.all().map(({ labels, state }) => ({ labels, value: state.value }));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

interface Buckets {
  /** Observations in each bucket alone (not cumulative), by upper bound. */
  counts: number[];
  sum: number;
  count: number;
}

/** A histogram with fixed upper bounds, written as prom-client's `Histogram` is. */
export class LeanHistogram<T extends string> extends LeanMetric<T, Buckets> {
  readonly type = "histogram";

  constructor(
    name: string,
    help: string,
    labelNames: readonly T[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, labelNames, registry);
  }

  observe(labels: Record<T, string>, value: number): void {
    const b = this.at(labels);
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    if (i < this.bounds.length) b.counts[i]!++;
    b.sum += value;
    b.count++;
  }

  protected fresh(): Buckets {
    return { counts: this.bounds.map(() => 0), sum: 0, count: 0 };
  }

  /** `_bucket` by `le` (cumulative, then `+Inf`), `_sum` and `_count` of each series. */
  get() {
    const bucket = `${this.name}_bucket`;
    const values = this.all().flatMap(({ labels, state }) => {
      let cumulative = 0;
      return [
        ...this.bounds.map((le, i) => {
          cumulative += state.counts[i]!;
          return { labels: { le, ...labels }, value: cumulative, metricName: bucket };
        }),
        { labels: { le: "+Inf", ...labels }, value: state.count, metricName: bucket },
        { labels, value: state.sum, metricName: `${this.name}_sum` },
        { labels, value: state.count, metricName: `${this.name}_count` },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
