import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "./clock";
import { failure, invalidField } from "./errors";
import { isFinal, UNFINISHED, type TransRecord } from "./model";
import { MAX_TIMEOUT_MS } from "./options-check";
import type { DelayedDue, TransRepository } from "./repository";

/** What the operator verbs work with. */
export interface OperatorContext {
  repository: TransRepository;
  clock: Clock;
  /** Stops this process's running pass of `gid`, if any: it makes no further branch call. */
  stopPass: (gid: string) => void;
  maxPageSize: number;
}

/** The rollback reason a force-stop leaves when the transaction had none. */
export const FORCE_STOP_REASON = "force stopped";

/**
 * The rollback reason of a force-stop by a named operator (the admin service), keeping the reason the
 * transaction was rolling back for, if any.
 */
export function operatorStopReason(operator: string, before: string): string {
  const reason = `force stopped by operator ${operator}`;
  return before === "" ? reason : `${reason} (it was rolling back: ${before})`;
}

/**
 * Fails an unfinished transaction at once (dtm's forceStop): a compare-and-set to `failed` that
 * takes the lease from whoever held it, so a pass still running loses its next write — a saga's
 * move to `aborting` before compensating included, so no compensation runs — and this process's
 * own pass of it makes no further branch call. A finished one is a FAILURE with dtm's text. With an
 * `operator` (the admin service's caller) the rollback reason says who stopped it.
 */
export async function forceStop(ctx: OperatorContext, gid: string, operator?: string): Promise<TransRecord> {
  for (;;) {
    const stored = await found(ctx, gid);
    if (isFinal(stored.status)) {
      throw failure(`global transaction force stop error. status: ${stored.status}. error: FAILURE`);
    }
    const stopped = await ctx.repository.changeStatus({
      gid,
      from: [...UNFINISHED],
      to: "failed",
      rollbackReason:
        operator !== undefined
          ? operatorStopReason(operator, stored.rollbackReason)
          : stored.rollbackReason === ""
            ? FORCE_STOP_REASON
            : "",
      now: ctx.clock.now(),
    });
    if (!stopped) continue; // it finished meanwhile: report how
    ctx.stopPass(gid);
    return stopped;
  }
}

/**
 * Makes an unfinished transaction due now (dtm's resetNextCronTime): the recovery worker takes it
 * at its next poll, whatever its backoff had reached. A finished one is a FAILURE.
 */
export async function retryNow(ctx: OperatorContext, gid: string): Promise<TransRecord> {
  if (gid === "") throw invalidField(["gid"], "is required");
  const due = await ctx.repository.makeDue(gid, ctx.clock.now());
  if (due) return due;
  const stored = await found(ctx, gid);
  throw failure(`transaction ${gid} is ${stored.status}: there is nothing to retry`);
}

/**
 * Makes due now up to `limit` unfinished transactions whose next look is more than `beyondMs` away
 * (dtm's resetCronTime): after an outage their backoff may have grown long. Bad input names
 * `beyondField` (dtm's `timeout`) and `limit`.
 */
export function retryDelayed(
  ctx: OperatorContext,
  beyondMs: number,
  limit: number,
  beyondField = "timeout",
): Promise<DelayedDue> {
  if (!Number.isSafeInteger(beyondMs) || beyondMs < 0)
    throw invalidField([beyondField], "must not be negative");
  if (beyondMs > MAX_TIMEOUT_MS) {
    throw invalidField([beyondField], `must be at most ${MAX_TIMEOUT_MS / 1000} seconds`);
  }
  if (!Number.isInteger(limit) || limit < 1 || limit > ctx.maxPageSize) {
    throw invalidField(["limit"], `must be between 1 and ${ctx.maxPageSize}`);
  }
  const now = ctx.clock.now();
  return ctx.repository.makeDelayedDue(new Date(now.getTime() + beyondMs), now, limit);
}

async function found(ctx: OperatorContext, gid: string): Promise<TransRecord> {
  if (gid === "") throw invalidField(["gid"], "is required");
  const stored = await ctx.repository.find(gid);
  if (!stored) throw new ConnectError(`no TransGlobal with gid: ${gid} found`, Code.NotFound);
  return stored;
}
