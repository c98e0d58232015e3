import type { Coordinator } from "../../src/client";
import type { BankEndpoint } from "./endpoints";

/**
 * A transfer as XA: the bank prepares the debit of `from` and the credit of `to`, each in a
 * Postgres prepared transaction registered with the coordinator; then the coordinator commits both.
 * A refused branch (no funds, no account) makes `dtx.xa` abort — the coordinator rolls back what
 * was prepared — and is rethrown here. Resolves with the gid (`gid`, default a fresh one) once
 * committed.
 */
export async function transferByXa(
  dtx: Coordinator,
  bank: BankEndpoint,
  from: string,
  to: string,
  amount: number,
  gid?: string,
): Promise<string> {
  const result = await dtx.xa(
    async (xa) => {
      await xa.callBranch(bank.url("XaTransOut"), bank.move(from, amount));
      await xa.callBranch(bank.url("XaTransIn"), bank.move(to, amount));
    },
    { waitResult: true, gid },
  );
  return result.gid;
}
