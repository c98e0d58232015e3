import type { Coordinator } from "../../src/client";
import type { BankEndpoint } from "./endpoints";

/**
 * A transfer as TCC: try freezes the amount on `from` and checks that `to` exists; if both tries
 * succeed the coordinator confirms (debits the frozen amount, credits `to`), otherwise it cancels
 * (releases the frozen amount) and the try's failure is rethrown here. `gid`: a chosen gid (default a
 * fresh one).
 */
export async function transferByTcc(
  dtx: Coordinator,
  bank: BankEndpoint,
  from: string,
  to: string,
  amount: number,
  gid?: string,
) {
  const branch = (side: "TransOut" | "TransIn", user: string) => ({
    try: bank.url(`${side}Try`),
    confirm: bank.url(`${side}Confirm`),
    cancel: bank.url(`${side}Cancel`),
    payload: bank.move(user, amount),
  });
  const result = await dtx.tcc(
    async (tcc) => {
      await tcc.callBranch(branch("TransOut", from));
      await tcc.callBranch(branch("TransIn", to));
    },
    { waitResult: true, gid },
  );
  return result.gid;
}
