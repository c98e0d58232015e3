import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Pool } from "pg";
import { Barrier, type BarrierOptions } from "./barrier";
import { branchContextFromMetadata, type BranchContext } from "./branch-context";
import { isBranchFailure, isBranchOngoing } from "./errors";

/**
 * One branch call as a Connect method's business function sees it.
 *
 * @example
 * transOut: connectBranch(async ({ request, barrier }) => {
 *   await barrier().call(pool, (tx) => debit(tx, request.user, request.amount));
 * }),
 */
export interface ConnectBranchCall<I> {
  /** gid, trans_type, branch_id, op and dtm from the `dtm-*` metadata. */
  ctx: BranchContext;
  /** The request message (the step's payload, decoded). */
  request: I;
  context: HandlerContext;
  /** The barrier of this call (the same one on every use). */
  barrier(options?: BarrierOptions): Barrier;
}

/**
 * Wraps a business function as a Connect unary method implementation that speaks dtm's branch
 * protocol: resolve for OK (with the reply, or nothing for an empty one), throw
 * {@link BranchFailure} for ABORTED (fails for good), {@link BranchOngoing} for FAILED_PRECONDITION
 * (called again later); a ConnectError keeps its code; any other error is INTERNAL (retried).
 *
 * @example
 * router.service(BankService, {
 *   transIn: connectBranch(async ({ request, barrier }) => {
 *     await barrier().call(pool, (tx) => credit(tx, request.user, request.amount));
 *   }),
 * });
 */
export function connectBranch<I, O extends object = Record<string, never>>(
  fn: (call: ConnectBranchCall<I>) => O | void | Promise<O | void>,
): (request: I, context: HandlerContext) => Promise<O | Record<string, never>> {
  return async (request, context) => {
    const ctx = branchContextFromMetadata((key) => context.requestHeader.get(key));
    let barrier: Barrier | undefined;
    try {
      const reply = await fn({ ctx, request, context, barrier: (o) => (barrier ??= new Barrier(ctx, o)) });
      return reply ?? {};
    } catch (err) {
      throw toConnectError(err);
    }
  };
}

/**
 * The method implementation of a message's check-back (`queryPrepared`) on a Connect service:
 * OK when the message's local transaction committed, ABORTED when it never will.
 *
 * @example
 * router.service(BankService, { queryPrepared: connectQueryPrepared(pool) });
 */
export function connectQueryPrepared<I>(
  db: Pool,
  options: BarrierOptions = {},
): (request: I, context: HandlerContext) => Promise<Record<string, never>> {
  return connectBranch<I>(({ barrier }) => barrier(options).queryPrepared(db));
}

function toConnectError(err: unknown): ConnectError {
  const message = (err as Error)?.message ?? String(err);
  if (isBranchFailure(err)) return new ConnectError(message, Code.Aborted);
  if (isBranchOngoing(err)) return new ConnectError(message, Code.FailedPrecondition);
  if (err instanceof ConnectError) return err;
  return new ConnectError(message, Code.Internal, undefined, undefined, err);
}
