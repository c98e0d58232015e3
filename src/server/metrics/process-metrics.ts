import { collectDefaultMetrics, Registry } from "prom-client";

const LINT_FAILURES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

let registry: Registry | null = null;

/**
 * Node's default process metrics (CPU, memory, heap spaces, event-loop lag, GC, handles), collected
 * once per process whatever the number of coordinators it runs (tests run several), in a registry of
 * their own.
 */
export function processMetrics(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry });
    // gauges named like counters, which `promtool check metrics` rejects; `nodejs_active_handles`,
    // `_requests` and `_resources` (by type) carry the same counts
    for (const name of LINT_FAILURES) registry.removeSingleMetric(name);
  }
  return registry;
}
