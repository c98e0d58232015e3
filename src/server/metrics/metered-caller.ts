import type { BranchCaller, BranchRequest, BranchResult } from "../../core/branch-caller";
import type { Protocol } from "../../core/model";
import type { DtxMetrics } from "./dtx-metrics";

/**
 * The operations of dtx's kinds; any other (a workflow's own names) is `other` in
 * `dtx_branch_call_duration_seconds`, so that label stays bounded.
 */
const KNOWN_OPS = new Set(["action", "compensate", "try", "confirm", "cancel", "commit", "rollback", "msg"]);

/**
 * Wraps the branch caller with the branch metrics: dtm's `dtm_branch_process_total` (ok when the
 * branch answered SUCCESS; dtm's labels, the branch id included) and dtx's
 * `dtx_branch_call_duration_seconds` (kind, op, protocol, outcome). A call of no URL is no call.
 */
export function meteredCaller(metrics: DtxMetrics, caller: BranchCaller): BranchCaller {
  return {
    async call(protocol: Protocol, req: BranchRequest): Promise<BranchResult> {
      if (req.url === "") return caller.call(protocol, req);
      const started = performance.now();
      const result = await caller.call(protocol, req);
      const seconds = (performance.now() - started) / 1000;
      metrics.branchProcess.inc({
        model: req.transType,
        branchid: req.branchId,
        branchtype: req.op,
        status: result.outcome === "SUCCESS" ? "ok" : "fail",
      });
      metrics.branchDuration.observe(
        {
          kind: req.transType,
          op: KNOWN_OPS.has(req.op) ? req.op : "other",
          protocol,
          outcome: result.outcome.toLowerCase(),
        },
        seconds,
      );
      return result;
    },
  };
}
