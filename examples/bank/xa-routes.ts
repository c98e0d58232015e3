import type { ClientBase, Pool } from "pg";
import {
  BranchFailure,
  type BarrierOptions,
  type HttpBranchCall,
  type HttpBranchFunction,
} from "../../src/client";
import { checkMove, credit, debitFrozen, freeze, mustExist, unfreeze } from "./accounts";

/**
 * The bank as an XA resource manager over HTTP: `POST /api/bank/xa/TransOut` and `/api/bank/xa/TransIn`
 * with `{"user": …, "amount": …}`. The application calls one with `op=action`, the coordinator's
 * address (`dtm`) and the URL itself (`phase2_url`), as dtm's SDKs do; the bank prepares the change in
 * its local transaction (TransOut holds the funds, TransIn checks the account), registers the branch
 * with the coordinator before that transaction commits (dtm's XaLocalTransaction registers before XA
 * PREPARE), and answers. dtx then calls the same URL with `op=commit` (apply the change) or
 * `op=rollback` (drop it). Every call is behind the barrier: a repeat does nothing, a rollback whose
 * action never ran does nothing and blocks a late action.
 *
 * A database's own XA (`PREPARE TRANSACTION` in Postgres) needs `max_prepared_transactions`, which is 0
 * by default, so the bank keeps its prepared changes in a table (`xa_prepared`) instead.
 */
export function xaRoutes(deps: { pool: Pool; barrier: BarrierOptions }): Record<string, HttpBranchFunction> {
  const ready = deps.pool.query(
    `create table if not exists xa_prepared (
       gid text not null, branch_id text not null, name text not null, delta bigint not null,
       primary key (gid, branch_id)
     )`,
  );
  const handler =
    (side: "out" | "in"): HttpBranchFunction =>
    async (call) => {
      await ready;
      const barrier = call.barrier(deps.barrier);
      const { op } = call.ctx;
      if (op === "action") return barrier.call(deps.pool, (tx) => prepare(tx, call, side));
      if (op === "commit" || op === "rollback") return barrier.call(deps.pool, (tx) => finish(tx, call, op));
      throw new BranchFailure(`op must be action, commit or rollback, not ${JSON.stringify(op)}`);
    };
  return { "/api/bank/xa/TransOut": handler("out"), "/api/bank/xa/TransIn": handler("in") };
}

/** `op=action`: the local transaction up to XA PREPARE, and the branch's registration. */
async function prepare(tx: ClientBase, call: HttpBranchCall, side: "out" | "in"): Promise<void> {
  const { user, amount } = checkMove(call.json());
  const { gid, branchId, dtm } = call.ctx;
  const phase2 = new URL(call.req.url ?? "/", "http://bank").searchParams.get("phase2_url");
  if (!dtm || !phase2) throw new BranchFailure("an XA action needs the dtm and phase2_url query parameters");
  if (side === "out") await freeze(tx, user, amount);
  else await mustExist(tx, user);
  await tx.query("insert into xa_prepared (gid, branch_id, name, delta) values ($1, $2, $3, $4)", [
    gid,
    branchId,
    user,
    side === "out" ? -amount : amount,
  ]);
  const res = await fetch(`${dtm}/registerBranch`, {
    method: "POST",
    body: JSON.stringify({ gid, trans_type: "xa", branch_id: branchId, url: phase2 }),
  });
  // a registration refused (the transaction timed out meanwhile) rolls the local transaction back
  if (!res.ok) throw new Error(`registerBranch answered ${res.status}: ${await res.text()}`);
}

/** `op=commit` applies the prepared change, `op=rollback` drops it (a debit's held funds are released). */
async function finish(tx: ClientBase, call: HttpBranchCall, op: "commit" | "rollback"): Promise<void> {
  const { rows } = await tx.query<{ name: string; delta: string }>(
    "delete from xa_prepared where gid = $1 and branch_id = $2 returning name, delta",
    [call.ctx.gid, call.ctx.branchId],
  );
  for (const { name, delta } of rows) {
    const amount = Math.abs(Number(delta));
    if (Number(delta) < 0) await (op === "commit" ? debitFrozen : unfreeze)(tx, name, amount);
    else if (op === "commit") await credit(tx, name, amount);
  }
}
