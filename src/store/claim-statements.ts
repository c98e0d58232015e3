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
       select json_agg(json_build_object(
           'id', b.id::text, 'gid', b.gid, 'branch_id', b.branch_id, 'op', b.op, 'url', b.url,
           'bin_data', encode(b.bin_data, 'base64'), 'status', b.status, 'create_time', b.create_time,
           'update_time', b.update_time, 'finish_time', b.finish_time, 'attempts', b.attempts,
           'last_outcome', b.last_outcome, 'last_code', b.last_code, 'last_answer', b.last_answer,
           'last_call_time', b.last_call_time)
         order by b.id)
       from trans_branch_op b where b.gid = c.gid), '[]') as branches
     from dtx_claim_due($1, $2, $3, $4, $5) c`,
    [owner, now, dueBefore, leaseUntil, limit],
  );
  return rows.map((r) => ({
    trans: toTrans(r),
    branches: r.branches.map((b) => toBranch(branchFromJson(b))),
  }));
}
