import type { BranchRecord, NewBranch, TransStatus } from "../core/model";
import type { AddBranchesResult } from "../core/repository";
import type { Queryable } from "./queryable";
import { toBranch, type BranchRow } from "./rows";

/** The branch rows of several transactions, in insertion order. */
export async function findBranches(db: Queryable, gids: string[]): Promise<BranchRecord[]> {
  const { rows } = await db.query<BranchRow>(
    "findBranches",
    "select * from trans_branch_op where gid = any($1::text[]) order by id",
    [gids],
  );
  return rows.map(toBranch);
}

/**
 * Registers branch rows of one transaction in one statement: it locks the global row in `status`
 * (`for update`, so a concurrent status change waits for the rows, or the rows for the change) and
 * inserts every row — or none, when the global row is missing or in another status, or one of the
 * rows exists. A taken row is found without raising the unique violation (an error would also end
 * PGlite's one connection); the rows of one registration share their branch id, so a registration
 * racing an identical one finds every row taken and writes none.
 */
export async function addBranches(
  db: Queryable,
  gid: string,
  status: TransStatus,
  branches: NewBranch[],
  now: Date,
): Promise<AddBranchesResult> {
  const { rows } = await db.query<{ locked: boolean; taken: boolean; added: string }>(
    "addBranches",
    `with g as (
       select gid from trans_global where gid = $1 and status = $2 for update
     ), x as (
       select * from unnest($3::text[], $4::text[], $5::text[], $6::bytea[], $7::text[])
         with ordinality as x(branch_id, op, url, bin_data, status, n)
     ), taken as (
       select 1 from trans_branch_op o join x on o.branch_id = x.branch_id and o.op = x.op where o.gid = $1
     ), b as (
       insert into trans_branch_op (gid, branch_id, op, url, bin_data, status, create_time, update_time)
       select g.gid, x.branch_id, x.op, x.url, x.bin_data, x.status, $8, $8
       from g cross join x
       where not exists (select 1 from taken)
       order by x.n
       on conflict (gid, branch_id, op) do nothing
       returning id
     )
     select exists (select 1 from g) as locked, exists (select 1 from taken) as taken,
       (select count(*) from b) as added`,
    [
      gid,
      status,
      branches.map((b) => b.branchId),
      branches.map((b) => b.op),
      branches.map((b) => b.url),
      branches.map((b) => b.payload),
      branches.map((b) => b.status ?? "prepared"),
      now,
    ],
  );
  const r = rows[0]!;
  if (!r.locked) return "wrong-status";
  return r.taken || Number(r.added) < branches.length ? "duplicate" : "added";
}
