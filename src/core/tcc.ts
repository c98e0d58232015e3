import { twoPhaseKind } from "./two-phase";
import { checkBranchUrl } from "./url-check";

/**
 * TCC: the application prepares the transaction, registers each branch (its confirm and cancel
 * URLs and the body both are called with) and calls the branch's try itself; then submits, and the
 * coordinator confirms every branch, the last registered first; or aborts (or times out), and the
 * coordinator cancels every registered branch — one whose try failed or never arrived included —
 * the last registered first. Nested branches (`0201`, registered by branch 02's try) come after
 * their parent, so they are confirmed and cancelled before it. Rows: cancel, confirm per branch.
 */
export const tcc = twoPhaseKind({
  kind: "tcc",
  forward: "confirm",
  backward: "cancel",
  lastFirst: true,
  forcePost: false,
  urlsOf(fields, protocol) {
    const forward = fields.confirm ?? "";
    const backward = fields.cancel ?? "";
    // an empty URL is allowed, as in dtm: nothing to call, counts as success
    if (forward !== "") checkBranchUrl(forward, protocol, ["confirm"]);
    if (backward !== "") checkBranchUrl(backward, protocol, ["cancel"]);
    return { forward, backward };
  },
});
