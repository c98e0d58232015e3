import type { ClientBase } from "pg";
import { credit, debit, debitFrozen, freeze, mustExist, unfreeze, type Move } from "./accounts";

/**
 * The bank's branch operations by name (the HTTP route's last segment and the gRPC method): what
 * each does in the branch's transaction, behind the barrier.
 */
export const OPERATIONS = {
  // saga
  TransOut: (tx, m) => debit(tx, m.user, m.amount),
  TransOutRevert: (tx, m) => credit(tx, m.user, m.amount),
  TransIn: (tx, m) => credit(tx, m.user, m.amount),
  TransInRevert: (tx, m) => credit(tx, m.user, -m.amount),
  // TCC
  TransOutTry: (tx, m) => freeze(tx, m.user, m.amount),
  TransOutConfirm: (tx, m) => debitFrozen(tx, m.user, m.amount),
  TransOutCancel: (tx, m) => unfreeze(tx, m.user, m.amount),
  TransInTry: (tx, m) => mustExist(tx, m.user),
  TransInConfirm: (tx, m) => credit(tx, m.user, m.amount),
  TransInCancel: async () => undefined, // the try changed nothing
} satisfies Record<string, (tx: ClientBase, m: Move) => Promise<void>>;

/** The name of one branch operation. */
export type Operation = keyof typeof OPERATIONS;
