import type { GetHealthResponse } from "../gen/dtx/v1/admin_pb";
import { relative, time } from "./format";

/** The strip at the top: version, store, workers, unfinished, backlog, oldest unfinished. */
export function HealthStrip({ health }: { health: GetHealthResponse | null }) {
  if (!health) return <div class="health" />;
  const item = (label: string, value: string, name: string) => (
    <span class="health-item" data-health={name}>
      <span class="label">{label}</span> <b>{value}</b>
    </span>
  );
  return (
    <div class="health">
      {item("version", health.version, "version")}
      {item("store", health.store, "store")}
      {item(
        "workers",
        health.recoveryEnabled ? `${health.runningPasses}/${health.workers}` : "recovery off",
        "workers",
      )}
      {item("unfinished", String(health.unfinished), "unfinished")}
      {item("backlog", String(health.backlog), "backlog")}
      {item(
        "oldest unfinished",
        health.oldestUnfinishedCreateTime
          ? `${time(health.oldestUnfinishedCreateTime)} (${relative(health.oldestUnfinishedCreateTime)})`
          : "none",
        "oldest",
      )}
    </div>
  );
}
