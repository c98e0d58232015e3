import type { Pool } from "pg";
import type { BarrierOptions, Coordinator } from "../../src/client";
import { debit, mustExist } from "./accounts";
import type { BankEndpoint } from "./endpoints";

/**
 * A transfer as a 2-phase message, sent by the bank that holds `from`: the debit runs in the bank's
 * own database transaction (behind the barrier) and the credit of `to` goes out as a message if and
 * only if that transaction commits; the coordinator then delivers it until it succeeds. Resolves
 * with the message's gid once submitted; a refused debit is thrown (and nothing is sent). `barrier`:
 * the barrier table and the local transaction's row-lock wait.
 */
export async function transferByMessage(
  dtx: Coordinator,
  bank: BankEndpoint,
  pool: Pool,
  transfer: { from: string; to: string; amount: number; gid?: string },
  barrier: BarrierOptions = {},
): Promise<string> {
  const { from, to, amount, gid } = transfer;
  const msg = dtx.msg({ gid }).add(bank.url("TransIn"), bank.move(to, amount));
  await msg.doAndSubmit(
    bank.url("QueryPrepared"),
    pool,
    async (tx) => {
      await mustExist(tx, to); // a credit that can never succeed must not be sent
      await debit(tx, from, amount);
    },
    barrier,
  );
  return msg.gid;
}
