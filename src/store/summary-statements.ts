import type { UnfinishedSummary } from "../core/repository";
import { UNFINISHED } from "../core/model";
import type { Queryable } from "./queryable";

/** The unfinished transactions at a glance: how many, how many due at `now`, the oldest's creation. */
export async function unfinishedSummary(db: Queryable, now: Date): Promise<UnfinishedSummary> {
  const { rows } = await db.query<{ unfinished: string; due: string; oldest: Date | null }>(
    "unfinishedSummary",
    `select count(*) as unfinished,
       count(*) filter (where next_cron_time <= $2) as due,
       min(create_time) as oldest
     from trans_global
     where status = any($1)`,
    [UNFINISHED, now],
  );
  const r = rows[0]!;
  return { unfinished: Number(r.unfinished), due: Number(r.due), oldestCreateTime: r.oldest };
}
