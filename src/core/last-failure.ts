import type { BranchFailure, BranchRecord } from "./model";

/**
 * Of the branches whose last answer was not SUCCESS, the one called last (the latest row on a tie):
 * the reason a transaction is stuck, or why it rolled back. Null when there is none.
 */
export function lastFailureOf(branches: BranchRecord[]): BranchFailure | null {
  let found: BranchRecord | null = null;
  for (const b of branches) {
    const answer = b.lastAnswer;
    if (!answer || answer.outcome === "SUCCESS") continue;
    if (!found || answer.at.getTime() >= found.lastAnswer!.at.getTime()) found = b;
  }
  if (!found) return null;
  const { branchId, op, url, attempts } = found;
  return { branchId, op, url, attempts, answer: found.lastAnswer! };
}
