/**
 * The branch service as a process of its own, forked by the bench: it announces its addresses, then
 * answers `calls` requests with the number of branch calls served so far.
 */
import { startBranchService } from "./branch-service";
import { serveParent } from "./ipc";

/** What the branch process announces when ready. */
export interface BranchAddresses {
  httpBase: string;
  grpcTarget: string;
}

startBranchService().then(
  (service) => {
    const ready: BranchAddresses = { httpBase: service.httpBase, grpcTarget: service.grpcTarget };
    serveParent<"calls">(ready, async () => service.calls());
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
