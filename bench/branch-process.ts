/**
 * The branch service as a process of its own, forked by the bench: it announces its addresses, then
 * answers requests: `"calls"` (branch calls served so far), `{ outage }` (turns the outage on or off)
 * and `{ finished: prefix }` (sagas of the prefix whose last action was answered; see BranchService).
 */
import { startBranchService } from "./branch-service";
import { serveParent } from "./ipc";

/** What the branch process announces when ready. */
export interface BranchAddresses {
  httpBase: string;
  grpcTarget: string;
}

/** What the bench asks the branch process. */
export type BranchRequest = "calls" | { outage: boolean } | { finished: string };

startBranchService().then(
  (service) => {
    const ready: BranchAddresses = { httpBase: service.httpBase, grpcTarget: service.grpcTarget };
    serveParent<BranchRequest>(ready, async (r) => {
      if (r === "calls") return service.calls();
      if ("outage" in r) return service.setOutage(r.outage);
      return service.finished(r.finished);
    });
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
