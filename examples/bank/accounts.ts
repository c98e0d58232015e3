import type { ClientBase, Pool } from "pg";
import { BranchFailure } from "../../src/client";

/**
 * The bank's business functions, each one statement or two inside the branch's transaction (the
 * barrier's). A business refusal is a {@link BranchFailure}: a saga rolls back, a TCC try aborts.
 */

/** Debits `amount` unless that would take the account below what it has frozen. */
export async function debit(tx: ClientBase, user: string, amount: number): Promise<void> {
  const res = await tx.query(
    "update account set balance = balance - $2 where name = $1 and balance - frozen >= $2",
    [user, amount],
  );
  if (res.rowCount === 0) throw await refusal(tx, user);
}

/** Credits `amount`. */
export async function credit(tx: ClientBase, user: string, amount: number): Promise<void> {
  const res = await tx.query("update account set balance = balance + $2 where name = $1", [user, amount]);
  if (res.rowCount === 0) throw new BranchFailure(`no account ${user}`);
}

/** Freezes `amount` (a TCC try): it stays on the account but can no longer be spent. */
export async function freeze(tx: ClientBase, user: string, amount: number): Promise<void> {
  const res = await tx.query(
    "update account set frozen = frozen + $2 where name = $1 and balance - frozen >= $2",
    [user, amount],
  );
  if (res.rowCount === 0) throw await refusal(tx, user);
}

/** Debits a frozen amount (a TCC confirm). */
export async function debitFrozen(tx: ClientBase, user: string, amount: number): Promise<void> {
  await tx.query("update account set balance = balance - $2, frozen = frozen - $2 where name = $1", [
    user,
    amount,
  ]);
}

/** Releases a frozen amount (a TCC cancel). */
export async function unfreeze(tx: ClientBase, user: string, amount: number): Promise<void> {
  await tx.query("update account set frozen = frozen - $2 where name = $1", [user, amount]);
}

/** Refuses an unknown account. */
export async function mustExist(tx: ClientBase, user: string): Promise<void> {
  const res = await tx.query("select 1 from account where name = $1", [user]);
  if (res.rowCount === 0) throw new BranchFailure(`no account ${user}`);
}

/** Every account: name → balance and frozen amount. */
export async function accounts(
  pool: Pool,
): Promise<Array<{ name: string; balance: number; frozen: number }>> {
  const res = await pool.query<{ name: string; balance: string; frozen: string }>(
    "select name, balance, frozen from account order by name",
  );
  return res.rows.map((r) => ({ name: r.name, balance: Number(r.balance), frozen: Number(r.frozen) }));
}

async function refusal(tx: ClientBase, user: string): Promise<BranchFailure> {
  const res = await tx.query("select 1 from account where name = $1", [user]);
  return new BranchFailure(res.rowCount === 0 ? `no account ${user}` : `insufficient funds for ${user}`);
}

/** A transfer's body: `{"user": string, "amount": positive number}`. */
export interface Move {
  user: string;
  amount: number;
}

/** Checks a move's shape: one that is wrong can never succeed, so it is a failure for good. */
export function checkMove(m: unknown): Move {
  const { user, amount } = (m ?? {}) as Partial<Move>;
  if (
    typeof user !== "string" ||
    typeof amount !== "number" ||
    !Number.isSafeInteger(amount) ||
    amount <= 0
  ) {
    throw new BranchFailure('the body must be {"user": string, "amount": positive integer}');
  }
  return { user, amount };
}
