import type { Pool } from "pg";
import { XaResource, type BarrierOptions, type HttpBranchFunction } from "../../src/client";
import { checkMove, credit, debit } from "./accounts";

/**
 * The bank as an XA resource manager on Postgres prepared transactions, through the SDK's
 * {@link XaResource}: `POST /api/bank/XaTransOut` debits and `/api/bank/XaTransIn` credits, each in a
 * local transaction that is registered with the coordinator and prepared (`PREPARE TRANSACTION`);
 * the coordinator's call of the same URL with `op=commit` or `op=rollback` finishes it. Needs
 * Postgres with `max_prepared_transactions` > 0: on PGlite (or with 0) the action fails for good,
 * saying so. (`/api/bank/xa/*`, xa-routes.ts, keeps its prepared changes in a table instead, and
 * works on any database.)
 */
export function xaResourceRoutes(deps: {
  pool: Pool;
  barrier: BarrierOptions;
}): Record<string, HttpBranchFunction> {
  const xa = new XaResource(deps.pool, deps.barrier);
  const handler =
    (move: typeof debit): HttpBranchFunction =>
    (call) =>
      xa.handle(call.ctx, (tx) => {
        const { user, amount } = checkMove(call.json()); // phase 2 has no body: read in the action only
        return move(tx, user, amount);
      });
  return { "/api/bank/XaTransOut": handler(debit), "/api/bank/XaTransIn": handler(credit) };
}
