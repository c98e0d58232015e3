import { branchHeaderProblem } from "../core/branch-headers";
import type { BranchRequest, BranchResult } from "../core/branch-caller";
import type { Protocol } from "../core/model";

/**
 * The ERROR result for a call whose `branch_headers` this transport cannot send (the core's rule set,
 * which refuses them at submit; a row stored before that check comes here), or null. Without it the
 * transport would fail deep inside with a message that does not name the header.
 */
export function refusedHeader(req: BranchRequest, transport: Protocol): BranchResult | null {
  for (const [name, value] of Object.entries(req.headers)) {
    const problem = branchHeaderProblem(name, value, transport);
    if (problem) return { outcome: "ERROR", detail: `branch header ${JSON.stringify(name)} ${problem}` };
  }
  return null;
}
