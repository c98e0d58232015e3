import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "./clock";
import type { TransWithBranches, VerbOutcome } from "./engine";
import { failure, invalidField } from "./errors";
import { checkGid } from "./gid-check";
import type { NewTrans, TransRecord } from "./model";
import type { TransRepository } from "./repository";
import type { TransKind } from "./trans-kind";
import { isBase64 } from "./workflow-custom";

/**
 * The lifecycle verbs of client-driven kinds (a workflow: the client runs it, records each step's
 * outcome through registerBranch, and reports how it ended); the engine delegates to them.
 */
export interface ClientDrivenContext {
  repository: TransRepository;
  clock: Clock;
  maxGidLength: number;
  /** Checks a new transaction (the engine's one validation path); its kind. */
  validated: (t: NewTrans) => TransKind;
  /** The record the verbs insert: `prepared`, unleased. */
  newRecord: (t: NewTrans, kind: TransKind) => TransRecord;
  get: (gid: string) => Promise<TransWithBranches | null>;
}

/**
 * Creates a client-driven transaction as `prepared`, or loads the stored one with its recorded
 * progress whatever its status (dtm's prepareWorkflow): a replaying client skips the recorded steps,
 * a finished one returns its stored result. A gid taken by another kind is a FAILURE.
 */
export async function prepareOrLoad(ctx: ClientDrivenContext, t: NewTrans): Promise<TransWithBranches> {
  const kind = ctx.validated(t);
  if (!kind.lifecycle.clientDriven) {
    throw invalidField(["trans_type"], `trans type: '${t.definition.kind}' records no progress`);
  }
  const fresh = ctx.newRecord(t, kind);
  const inserted = await ctx.repository.insert(fresh, []);
  if (inserted) return { trans: { ...fresh, id: inserted.id }, branches: [] };
  const found = await ctx.get(t.gid);
  if (found?.trans.transType !== t.definition.kind) {
    throw failure(`gid ${t.gid} belongs to a ${found?.trans.transType ?? "vanished"} transaction`);
  }
  return found;
}

/**
 * Ends a prepared client-driven transaction with the outcome its client reports (dtm's submit with
 * `req_extra`), by compare-and-set; nothing is called. Reporting the stored outcome again answers
 * success (a client retrying a submit whose answer it lost); any other status is a FAILURE.
 */
export async function finish(ctx: ClientDrivenContext, t: NewTrans): Promise<VerbOutcome> {
  checkGid(t.gid, ctx.maxGidLength);
  const outcome = t.outcome;
  if (!outcome) throw invalidField(["req_extra", "status"], "must be succeed or failed");
  if (!isBase64(outcome.result)) throw invalidField(["req_extra", "result"], "must be base64 text");
  const stored = await ctx.repository.find(t.gid);
  if (!stored) throw new ConnectError(`no TransGlobal with gid: ${t.gid} found`, Code.NotFound);
  if (stored.transType !== t.definition.kind) {
    throw failure(`gid ${t.gid} belongs to a ${stored.transType} transaction`);
  }
  const done =
    stored.status === "prepared"
      ? await ctx.repository.changeStatus({
          gid: t.gid,
          from: ["prepared"],
          to: outcome.status,
          rollbackReason: outcome.rollbackReason,
          result: outcome.result,
          now: ctx.clock.now(),
        })
      : null;
  if (done) return { trans: done };
  const now = (await ctx.repository.find(t.gid)) ?? stored;
  if (now.status === outcome.status) return { trans: now };
  // dtm's text, typo included
  throw failure(`current status '${now.status}', cannot sumbmit`);
}
