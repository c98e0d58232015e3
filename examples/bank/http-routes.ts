import type { IncomingMessage, ServerResponse } from "node:http";
import type { Pool } from "pg";
import {
  httpBranchRoutes,
  httpQueryPrepared,
  type BarrierOptions,
  type HttpBranchFunction,
} from "../../src/client";
import { accounts, checkMove } from "./accounts";
import { OPERATIONS } from "./operations";
import { xaResourceRoutes } from "./xa-resource-routes";
import { xaRoutes } from "./xa-routes";

/** What the bank's HTTP routes need. */
export interface BankHttpDeps {
  pool: Pool;
  /** The barrier table and how long a branch waits for a row lock. */
  barrier: BarrierOptions;
  /** POST /api/bank/TransferByMessage: sends a transfer as a 2-phase message. */
  transferByMessage: HttpBranchFunction;
  /** POST /api/bank/TransferByWorkflow: runs a transfer as the bank's workflow. */
  transferByWorkflow: HttpBranchFunction;
  /** /api/bank/workflow/resume: where the coordinator resumes the bank's unfinished workflows. */
  resumeWorkflow: HttpBranchFunction;
}

/**
 * The bank over HTTP: `POST /api/bank/<operation>` with `{"user": …, "amount": …}` for every branch
 * operation (each behind the barrier), the message's check-back `/api/bank/QueryPrepared`,
 * `POST /api/bank/TransferByMessage` and `/api/bank/TransferByWorkflow` with `{"from", "to", "amount"}`
 * (the workflow's resume callback: `/api/bank/workflow/resume`), `GET /api/bank/balances`, the XA
 * resource manager on Postgres prepared transactions `/api/bank/XaTransOut` and `/api/bank/XaTransIn`
 * (xa-resource-routes.ts), and the table-kept one `/api/bank/xa/TransOut` and `/api/bank/xa/TransIn`
 * (xa-routes.ts).
 */
export function bankHttpRoutes(
  deps: BankHttpDeps,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { barrier } = deps;
  const routes: Record<string, HttpBranchFunction> = {
    "/api/bank/QueryPrepared": httpQueryPrepared(deps.pool, barrier),
    "/api/bank/TransferByMessage": deps.transferByMessage,
    "/api/bank/TransferByWorkflow": deps.transferByWorkflow,
    "/api/bank/workflow/resume": deps.resumeWorkflow,
    "/api/bank/balances": async () =>
      Object.fromEntries((await accounts(deps.pool)).map((a) => [a.name, a.balance])),
  };
  for (const [name, operation] of Object.entries(OPERATIONS)) {
    routes[`/api/bank/${name}`] = (call) =>
      call.barrier(barrier).call(deps.pool, (tx) => operation(tx, checkMove(call.json())));
  }
  return httpBranchRoutes({ ...routes, ...xaRoutes(deps), ...xaResourceRoutes(deps) });
}
