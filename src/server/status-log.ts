import type { Logger } from "pino";
import type { StatusChangeEvent } from "../core/observer";

/**
 * The repository's status-change listener that logs each change at info, as an operator follows a
 * transaction: `saga transfer-3: submitted → succeed`, with gid, kind, from, to and the reason.
 */
export function statusLog(logger: Logger): (e: StatusChangeEvent) => void {
  return (e) => {
    const reason = e.reason || undefined;
    logger.info(
      { gid: e.gid, kind: e.kind, from: e.from, to: e.to, reason },
      `${e.kind} ${e.gid}: ${e.from} → ${e.to}${reason ? ` (${reason})` : ""}`,
    );
  };
}
