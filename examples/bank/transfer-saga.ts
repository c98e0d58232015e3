import type { Coordinator } from "../../src/client";
import type { BankEndpoint } from "./endpoints";

/**
 * A transfer as a saga: debit `from`, then credit `to`. If the credit fails for good (no such
 * account), the coordinator undoes the debit. Resolves with the gid once the saga succeeded; throws
 * a CoordinatorError saying why it was rolled back. `gid`: a chosen gid (default a fresh one).
 */
export function transferBySaga(
  dtx: Coordinator,
  bank: BankEndpoint,
  from: string,
  to: string,
  amount: number,
  gid?: string,
) {
  return dtx
    .saga({ waitResult: true, gid })
    .add(bank.url("TransOut"), bank.url("TransOutRevert"), bank.move(from, amount))
    .add(bank.url("TransIn"), bank.url("TransInRevert"), bank.move(to, amount))
    .submit();
}
