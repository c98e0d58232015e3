import { invalidField } from "./errors";
import { twoPhaseKind } from "./two-phase";
import { checkBranchUrl } from "./url-check";

/**
 * XA: the application prepares the transaction and calls each resource manager, which runs its
 * local XA transaction up to `XA PREPARE` and registers its branch with its phase-2 URL; then the
 * application submits, and the coordinator commits every branch, the first registered first; or
 * aborts (or times out), and the coordinator rolls every registered branch back in the same order.
 * Phase 2 is always a POST (dtm's resource managers expect one; the body is what was registered
 * as `data`, normally empty). Rows: rollback, commit per branch, both at the phase-2 URL.
 */
export const xa = twoPhaseKind({
  kind: "xa",
  forward: "commit",
  backward: "rollback",
  lastFirst: false,
  forcePost: true,
  urlsOf(fields, protocol) {
    const url = fields.url ?? "";
    // a branch without a phase-2 URL could never be committed or rolled back
    if (url === "") throw invalidField(["url"], "is required (the branch's phase-2 URL)");
    checkBranchUrl(url, protocol, ["url"]);
    return { forward: url, backward: url };
  },
});
