import type { Workflows } from "../../src/client";
import { checkMove } from "./accounts";
import type { BankEndpoint } from "./endpoints";

/** The bank's workflow: a transfer, `{"from", "to", "amount"}`. */
export const TRANSFER_WORKFLOW = "transfer";

/**
 * Registers the transfer workflow: branch 01 debits `from`, branch 02 credits `to`; when a step
 * fails for good, both are undone by their Revert, the failed one included
 * (`compensateFailedBranch`: a step refused on one call may have run on another, e.g. the same
 * workflow resumed while it still ran; the barrier makes a Revert of what never ran a no-op). Each
 * outcome is recorded in the coordinator; a transfer interrupted by an error or an ONGOING answer
 * is resumed by the coordinator through the bank's callback and continues after its last recorded
 * step.
 */
export function registerTransferWorkflow(workflows: Workflows, bank: BankEndpoint): void {
  workflows.register(
    TRANSFER_WORKFLOW,
    async (wf, input) => {
      const { from, to, amount } = JSON.parse(input.toString()) as {
        from: string;
        to: string;
        amount: number;
      };
      checkMove({ user: from, amount });
      await wf
        .newBranch()
        .onRollback(() => wf.call(bank.url("TransOutRevert"), bank.move(from, amount)))
        .call(bank.url("TransOut"), bank.move(from, amount));
      await wf
        .newBranch()
        .onRollback(() => wf.call(bank.url("TransInRevert"), bank.move(to, amount)))
        .call(bank.url("TransIn"), bank.move(to, amount));
    },
    { compensateFailedBranch: true },
  );
}

/**
 * Runs a transfer as the workflow (under `gid`: running it again answers its outcome). Resolves once
 * it succeeded; throws a BranchFailure saying why when it was rolled back.
 */
export async function transferByWorkflow(
  workflows: Workflows,
  gid: string,
  transfer: { from: string; to: string; amount: number },
): Promise<string> {
  await workflows.execute(TRANSFER_WORKFLOW, gid, transfer);
  return gid;
}
