import type { ClaimedTrans } from "../core/repository";
import type { Queryable } from "./queryable";
import { branchFromJson, toBranch, toTrans, type BranchJson, type TransRow } from "./rows";

/**
 * Claims up to `limit` due unfinished transactions for one owner, skipping rows another
 * coordinator is claiming at the same moment (`for update skip locked`), and extends their lease
 * to `leaseUntil`; answers each with its branch rows, so a claim is one statement whatever its
 * size. The claim itself is `dtx_claim_due` (migration 7: an index walk in next_cron_time order
 * whatever the table's statistics); the branch rows come through the `(gid, branch_id, op)`
 * index, one lookup per claimed transaction.
 */
export async function claimDue(
  db: Queryable,
  owner: string,
  now: Date,
  dueBefore: Date,
  leaseUntil: Date,
  limit: number,
): Promise<ClaimedTrans[]> {
  const { rows } = await db.query<TransRow & { branches: BranchJson[] }>(
    "claimDue",
    `select c.*, coalesce((
       select json_agg(b order by b.n) from (
         select o.id as n, o.id::text as id, o.gid, o.branch_id, o.op, o.url,
           encode(o.bin_data, 'base64') as bin_data, o.status, o.create_time, o.update_time, o.finish_time,
           o.attempts, o.last_outcome, o.last_code, o.last_answer, o.last_call_time
         from trans_branch_op o where o.gid = c.gid) b), '[]') as branches
     from dtx_claim_due($1, $2, $3, $4, $5) c`,
    [owner, now, dueBefore, leaseUntil, limit],
  );
  return rows.map((r) => ({
    trans: toTrans(r),
    branches: r.branches.map((b) => toBranch(branchFromJson(b))),
  }));
}
