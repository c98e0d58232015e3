import type { Pool } from "pg";
import type { BankEndpoint } from "../../examples/bank/endpoints";
import { transferByMessage } from "../../examples/bank/transfer-msg";
import { transferBySaga } from "../../examples/bank/transfer-saga";
import { transferByTcc } from "../../examples/bank/transfer-tcc";
import { transferByWorkflow } from "../../examples/bank/transfer-workflow";
import { transferByXa } from "../../examples/bank/transfer-xa";
import type { Coordinator, Workflows } from "../../src/client";

/** The ways the bank example moves money. */
export const MODES = ["saga", "tcc", "xa", "msg", "workflow"] as const;
export type Mode = (typeof MODES)[number];

/** One transfer of a property test: its gid is chosen up front, so it is known even when no call got through. */
export interface PlannedTransfer {
  gid: string;
  mode: Mode;
  from: string;
  to: string;
  amount: number;
}

/** What a transfer needs: the SDK, the bank's branches (possibly behind a proxy), its pool and workflows. */
export interface TransferDeps {
  sdk: Coordinator;
  bank: BankEndpoint;
  pool: Pool;
  barrierTable: string | undefined;
  /** The bank's row-lock wait (for the message's local transaction). */
  lockWaitMs?: number;
  workflows: Workflows;
}

/** Runs a transfer the way the bank example does in its mode; rejects as the example does. */
export async function runTransfer(d: TransferDeps, t: PlannedTransfer): Promise<void> {
  const { gid, from, to, amount } = t;
  if (t.mode === "saga") await transferBySaga(d.sdk, d.bank, from, to, amount, gid);
  else if (t.mode === "tcc") await transferByTcc(d.sdk, d.bank, from, to, amount, gid);
  else if (t.mode === "xa") await transferByXa(d.sdk, d.bank, from, to, amount, gid);
  else if (t.mode === "msg")
    await transferByMessage(
      d.sdk,
      d.bank,
      d.pool,
      { from, to, amount, gid },
      { table: d.barrierTable, lockWaitMs: d.lockWaitMs },
    );
  else await transferByWorkflow(d.workflows, gid, { from, to, amount });
}

/** A transaction's barrier rows: `branch/op` → the op whose call wrote the row. */
export type BarrierRows = Map<string, string>;

/** Reads the barrier rows of every gid at once. */
export async function barrierRows(pool: Pool, table: string): Promise<Map<string, BarrierRows>> {
  const { rows } = await pool.query<{ gid: string; branch_id: string; op: string; reason: string }>(
    `select gid, branch_id, op, reason from ${table}`,
  );
  const out = new Map<string, BarrierRows>();
  for (const r of rows) {
    if (!out.has(r.gid)) out.set(r.gid, new Map());
    out.get(r.gid)!.set(`${r.branch_id}/${r.op}`, r.reason);
  }
  return out;
}

/**
 * Which halves of a transfer took effect, as its barrier rows tell: the debit and the credit, each
 * true when its business function committed and was not undone. A row written by its own op is a
 * call that ran its business (or, for a compensation, ran it unless the forward row was written by
 * the compensation: a null compensation). XA keeps no such trace: undefined.
 */
export function effects(mode: Mode, rows: BarrierRows = new Map()): [boolean, boolean] | undefined {
  const ran = (branch: string, op: string) => rows.get(`${branch}/${op}`) === op;
  const undone = (branch: string) => ran(branch, "compensate") || ran(branch, "rollback");
  const acted = (branch: string) => ran(branch, "action") && !undone(branch);
  if (mode === "saga" || mode === "workflow") return [acted("01"), acted("02")];
  if (mode === "tcc") return [ran("01", "confirm"), ran("02", "confirm")];
  if (mode === "msg") return [ran("00", "msg"), acted("01")];
  return undefined;
}
