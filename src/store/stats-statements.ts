import type { Queryable } from "./queryable";

/** Unfinished transactions of one kind in one status. */
export interface UnfinishedGroup {
  kind: string;
  status: string;
  count: number;
  /** Creation time of the oldest. */
  oldest: Date;
  /** How many are due (next look ≤ now) and claimed by nobody (a claim moves the next look to its lease's end). */
  due: number;
}

/**
 * Counts unfinished transactions by kind and status, with the oldest and the due ones. Reads only
 * unfinished rows, through the partial index the claims use (its predicate is repeated literally so
 * the planner can match it), never the finished history.
 */
export async function unfinishedStats(db: Queryable, now: Date): Promise<UnfinishedGroup[]> {
  const { rows } = await db.query<{
    kind: string;
    status: string;
    count: string;
    oldest: Date;
    due: string;
  }>(
    "unfinishedStats",
    `select trans_type as kind, status, count(*) as count, min(create_time) as oldest,
       count(*) filter (where next_cron_time <= $1) as due
     from trans_global
     where status in ('prepared', 'submitted', 'aborting')
     group by trans_type, status`,
    [now],
  );
  return rows.map((r) => ({ ...r, count: Number(r.count), due: Number(r.due) }));
}
