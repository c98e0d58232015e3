import { AggregatorRegistry, Counter, Histogram, Registry } from "prom-client";
import { LeanCounter, LeanHistogram } from "../../src/server/metrics/lean-metrics";

// dtx's hot-path counters and histograms must scrape exactly as prom-client's own would
const BOUNDS = [0.01, 0.1, 1];
const observations: Array<[string, string, number]> = [
  ["saga", "ok", 0.005],
  ["saga", "ok", 0.1], // on a bound: counted in that bucket (le is inclusive)
  ["tcc", "fail", 0.5],
  ["saga", "ok", 7], // above every bound: only in +Inf
  ["saga", "fail", 0.01],
];

function record(
  counter: { inc(l: Record<"kind" | "status", string>, by?: number): void },
  histogram: {
    observe(l: Record<"kind" | "status", string>, v: number): void;
  },
): void {
  for (const [kind, status, value] of observations) {
    counter.inc({ kind, status });
    histogram.observe({ kind, status }, value);
  }
  counter.inc({ kind: "msg", status: "ok" }, 3);
}

function both(): { prom: Registry; lean: Registry } {
  const prom = new Registry();
  const lean = new Registry();
  const labelNames = ["kind", "status"] as const;
  record(
    new Counter({ name: "x_total", help: "x", labelNames, registers: [prom] }),
    new Histogram({ name: "y_seconds", help: "y", labelNames, buckets: BOUNDS, registers: [prom] }),
  );
  record(
    new LeanCounter("x_total", "x", labelNames, lean),
    new LeanHistogram("y_seconds", "y", labelNames, BOUNDS, lean),
  );
  return { prom, lean };
}

test("a scrape of the lean counter and histogram reads as prom-client's", async () => {
  const { prom, lean } = both();
  const text = await lean.metrics();
  expect(text).toBe(await prom.metrics());
  expect(text).toMatch(/^y_seconds_bucket\{le="0.1",kind="saga",status="ok"\} 2$/m);
  expect(text).toMatch(/^x_total\{kind="msg",status="ok"\} 3$/m);
});

test("summed over worker processes as prom-client's are", async () => {
  const { prom, lean } = both();
  const [p, l] = [await prom.getMetricsAsJSON(), await lean.getMetricsAsJSON()];
  expect(await AggregatorRegistry.aggregate([l, l]).metrics()).toBe(
    await AggregatorRegistry.aggregate([p, p]).metrics(),
  );
});
