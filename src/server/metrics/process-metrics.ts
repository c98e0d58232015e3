import { collectDefaultMetrics, Counter, Registry } from "prom-client";

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
    countCpuBefore(registry);
    // gauges named like counters, which `promtool check metrics` rejects; `nodejs_active_handles`,
    // `_requests` and `_resources` (by type) carry the same counts
    for (const name of LINT_FAILURES) registry.removeSingleMetric(name);
  }
  return registry;
}

/**
 * prom-client's CPU counters count from their creation — here the first scrape — so a coordinator's
 * first samples would leave out all it did before; add the CPU used until then, and they are the
 * process's totals, as their names say.
 */
function countCpuBefore(registry: Registry): void {
  const { user, system } = process.cpuUsage();
  const add = (name: string, micros: number) =>
    (registry.getSingleMetric(name) as Counter | undefined)?.inc(micros / 1e6);
  add("process_cpu_user_seconds_total", user);
  add("process_cpu_system_seconds_total", system);
  add("process_cpu_seconds_total", user + system);
}
