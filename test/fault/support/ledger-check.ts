import { request } from "undici";
import type { Transfer, TransferLoad } from "./transfer-load";

const FINAL = new Set(["succeed", "failed"]);

/** Every transaction a coordinator lists (dtm's `all`, page by page): gid → status. */
export async function listAll(base: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let position = "";
  for (;;) {
    const res = await request(`${base}/api/dtmsvr/all?limit=1000${position ? `&position=${position}` : ""}`);
    const body = (await res.body.json()) as {
      transactions: { gid: string; status: string }[];
      next_position: string;
    };
    for (const t of body.transactions) out.set(t.gid, t.status);
    if (!body.next_position) return out;
    position = encodeURIComponent(body.next_position);
  }
}

/** How many transactions are unfinished (submitted, aborting, prepared). */
export async function unfinished(base: string): Promise<number> {
  let n = 0;
  for (const status of ["submitted", "aborting", "prepared"]) {
    const res = await request(`${base}/api/dtmsvr/all?status=${status}&limit=1000`);
    n += ((await res.body.json()) as { transactions: unknown[] }).transactions.length;
  }
  return n;
}

/**
 * Waits until no transaction is unfinished; resolves with when that was first seen (Date.now()).
 * Polls every 25 ms, for at most `maxMs`; a request that fails (the coordinator still starting) is
 * polled again.
 */
export async function whenAllFinal(base: string, maxMs = 60_000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < maxMs) {
    const n = await unfinished(base).catch(() => -1);
    if (n === 0) return Date.now();
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`transactions still unfinished ${maxMs} ms later`);
}

/** What a finished run's ledger shows. */
export interface LedgerReport {
  /** Acknowledged transfers missing, or not final. */
  lost: string[];
  /** Accounts whose balance differs from what the succeeded transfers make it (a half-done or doubled transfer). */
  halfDone: string[];
  /** Total money before and after. */
  totalBefore: number;
  totalAfter: number;
  /** Transactions stored (acknowledged or not). */
  stored: number;
  succeeded: number;
  failed: number;
  /** Stored transactions no client tried (must be none). */
  strangers: string[];
}

/**
 * Checks a finished run: every acknowledged transfer is stored and final; an unacknowledged one is
 * absent or final; each account's balance is its opening balance plus the effect of exactly the
 * succeeded transfers (a failed one compensated to nothing) — so nothing half-done, nothing applied
 * twice — and the money is conserved.
 */
export function checkLedger(
  load: TransferLoad,
  stored: Map<string, string>,
  opening: Record<string, number>,
  balances: Record<string, number>,
): LedgerReport {
  const lost = [...load.acknowledged].filter((gid) => !FINAL.has(stored.get(gid) ?? ""));
  const expected = { ...opening };
  let succeeded = 0;
  let failed = 0;
  const strangers: string[] = [];
  for (const [gid, status] of stored) {
    const t: Transfer | undefined = load.tried.get(gid);
    if (!t) {
      strangers.push(gid);
      continue;
    }
    if (!FINAL.has(status)) lost.push(gid);
    if (status === "succeed") {
      succeeded++;
      expected[t.from] -= t.amount;
      expected[t.to] += t.amount;
    } else if (status === "failed") failed++;
  }
  const halfDone = Object.keys(opening).filter((a) => balances[a] !== expected[a]);
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  return {
    lost: [...new Set(lost)],
    halfDone,
    totalBefore: sum(opening),
    totalAfter: sum(balances),
    stored: stored.size,
    succeeded,
    failed,
    strangers,
  };
}
