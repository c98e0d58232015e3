/**
 * The bank's TCC and XA operations (the saga ones are in bank-service.ts). Bodies are
 * `{"user": …, "amount": …}`; `gid` and `branch_id` come from the query, as dtx and dtm's SDKs send them.
 *
 * TCC — the application calls the try after registering the branch; dtx calls confirm or cancel:
 *   POST /api/bank/tcc/TransOutTry      hold the amount (409 FAILURE: insufficient funds)
 *   POST /api/bank/tcc/TransOutConfirm  debit the held amount
 *   POST /api/bank/tcc/TransOutCancel   release it
 *   POST /api/bank/tcc/TransInTry       check the account (409 FAILURE: no such account)
 *   POST /api/bank/tcc/TransInConfirm   credit
 *   POST /api/bank/tcc/TransInCancel    nothing to undo
 *
 * XA — one URL per operation: the application calls it with `op=action`, `dtm` and `phase2_url`; the
 * bank prepares the change (holding the funds, as a database's XA PREPARE holds its locks), registers
 * the branch with the coordinator at `dtm`, and answers; dtx then calls the same URL with `op=commit`
 * (apply) or `op=rollback` (drop). A commit or rollback of nothing prepared is answered with success, as
 * a database answers XA COMMIT of a transaction it no longer has (XAER_NOTA).
 *   POST /api/bank/xa/TransOut   POST /api/bank/xa/TransIn
 *
 * Every TCC operation follows the barrier rules: a repeat has no effect, a cancel whose try never ran
 * does nothing and blocks a late try.
 */
export class TwoPhaseBank {
  /** Amounts held by tries and XA prepares, by user. */
  readonly held = new Map<string, number>();
  private readonly done = new Set<string>();
  /** XA changes prepared but not committed, by `gid/branch_id`. */
  private readonly prepared = new Map<string, { user: string; delta: number }>();

  constructor(private readonly balances: Map<string, number>) {}

  /** Answers `op` (`tcc/TransOutTry`, `xa/TransIn`, …) with the query and body it came with. */
  async handle(op: string, q: URLSearchParams, body: Buffer): Promise<Answer> {
    const [, kind, side, phase = ""] = /^(tcc|xa)\/(TransOut|TransIn)(Try|Confirm|Cancel)?$/.exec(op) ?? [];
    if (!side || (kind === "tcc") !== (phase !== ""))
      return { status: 404, body: { error: `no operation ${op}` } };
    if (kind === "xa" && ["commit", "rollback"].includes(q.get("op") ?? "")) return this.xaPhase2(q);
    if (kind === "xa" && q.get("op") !== "action") {
      return { status: 400, body: { error: "op must be action, commit or rollback" } };
    }
    const parsed = transferOf(body);
    if ("status" in parsed) return parsed;
    const { user, amount } = parsed;
    if (kind === "tcc") return this.tcc(side, phase, q, user, amount);
    return this.xaPrepare(side === "TransOut" ? -amount : amount, q, user);
  }

  private tcc(side: string, phase: string, q: URLSearchParams, user: string, amount: number): Answer {
    const key = (p: string): string => `${q.get("gid")}/${q.get("branch_id")}/${p}`;
    if (phase === "Cancel" && !this.done.has(key("Try"))) {
      this.done.add(key("Try")).add(key("Cancel")); // null compensation; a late try is blocked
      return ok("null compensation");
    }
    if (this.done.has(key(phase))) return ok("already done");
    const balance = this.balances.get(user);
    if (balance === undefined) return failure(`no account ${user}`);
    const held = this.held.get(user) ?? 0;
    if (side === "TransOut") {
      if (phase === "Try" && balance - held < amount) return failure(`insufficient funds for ${user}`);
      this.held.set(user, held + (phase === "Try" ? amount : -amount));
      if (phase === "Confirm") this.balances.set(user, balance - amount);
    } else if (phase === "Confirm") {
      this.balances.set(user, balance + amount);
    }
    this.done.add(key(phase));
    return ok();
  }

  /** `op=commit` applies the prepared change, `op=rollback` drops it. */
  private xaPhase2(q: URLSearchParams): Answer {
    const id = `${q.get("gid")}/${q.get("branch_id")}`;
    const change = this.prepared.get(id);
    if (!change) return ok("nothing prepared");
    this.prepared.delete(id);
    if (change.delta < 0) this.held.set(change.user, (this.held.get(change.user) ?? 0) + change.delta);
    if (q.get("op") === "commit")
      this.balances.set(change.user, this.balances.get(change.user)! + change.delta);
    return ok();
  }

  /** `op=action`: the local transaction up to XA PREPARE, then the registration. */
  private async xaPrepare(delta: number, q: URLSearchParams, user: string): Promise<Answer> {
    const id = `${q.get("gid")}/${q.get("branch_id")}`;
    const [dtm, phase2] = [q.get("dtm"), q.get("phase2_url")];
    if (!dtm || !phase2) return { status: 400, body: { error: "the query needs dtm and phase2_url" } };
    if (this.prepared.has(id)) return ok("already prepared");
    const balance = this.balances.get(user);
    if (balance === undefined) return failure(`no account ${user}`);
    const held = this.held.get(user) ?? 0;
    if (balance - held + delta < 0) return failure(`insufficient funds for ${user}`);
    const registered = await fetch(`${dtm}/registerBranch`, {
      method: "POST",
      body: JSON.stringify({
        gid: q.get("gid"),
        trans_type: "xa",
        branch_id: q.get("branch_id"),
        url: phase2,
      }),
    }).catch((err: Error) => ({ ok: false, status: 0, text: async () => err.message }));
    if (!registered.ok) return { status: 500, body: { error: `registerBranch: ${await registered.text()}` } };
    this.prepared.set(id, { user, delta });
    if (delta < 0) this.held.set(user, held - delta);
    return ok();
  }
}

/** A branch body `{"user": …, "amount": …}`, or the 400 answer to a body that is not one. */
export function transferOf(body: Buffer): { user: string; amount: number } | Answer {
  let parsed: { user?: unknown; amount?: unknown };
  try {
    parsed = JSON.parse(body.toString() || "{}");
  } catch {
    return { status: 400, body: { error: "body is not JSON" } };
  }
  const { user, amount } = parsed;
  if (typeof user !== "string" || typeof amount !== "number" || amount <= 0) {
    return { status: 400, body: { error: 'body must be {"user": string, "amount": positive number}' } };
  }
  return { user, amount };
}

/** An HTTP answer. */
export interface Answer {
  status: number;
  body: unknown;
}

function ok(note?: string): Answer {
  return { status: 200, body: note ? { dtm_result: "SUCCESS", note } : { dtm_result: "SUCCESS" } };
}

function failure(error: string): Answer {
  return { status: 409, body: { dtm_result: "FAILURE", error } };
}
