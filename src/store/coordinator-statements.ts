import { UNFINISHED } from "../core/model";
import type { Queryable } from "./queryable";

/**
 * The coordinator table: one row per running coordinator process, its heartbeat kept fresh
 * (heartbeat.ts). A row whose heartbeat is too old belongs to a dead (killed, frozen, cut off)
 * coordinator; its leases are taken over by `takeOverDead`.
 */

/**
 * Heartbeats are in the database's time (`clock_timestamp()`), never a process's: a coordinator's
 * clock that is off, or shifted (tests), cannot make another look dead.
 */

/** Registers (or re-registers, after being declared dead) a coordinator, beating now. */
export async function registerCoordinator(db: Queryable, id: string, node: string): Promise<void> {
  await db.query(
    "registerCoordinator",
    `insert into coordinator (id, node, start_time, heartbeat_time)
     values ($1, $2, clock_timestamp(), clock_timestamp())
     on conflict (id) do update set heartbeat_time = excluded.heartbeat_time`,
    [id, node],
  );
}

/** One heartbeat; false when the row is gone (another coordinator declared this one dead). */
export async function beat(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    "beat",
    "update coordinator set heartbeat_time = clock_timestamp() where id = $1",
    [id],
  );
  return (rowCount ?? 0) > 0;
}

/** Removes a coordinator's row (a graceful stop: its leases were handed back already). */
export async function unregisterCoordinator(db: Queryable, id: string): Promise<void> {
  await db.query("unregisterCoordinator", "delete from coordinator where id = $1", [id]);
}

/**
 * Declares dead every other coordinator that has not beaten for `deadAfterMs`, or that ran on `node`
 * (a predecessor on this host and port: it is gone, since this process holds the port), or every
 * other one when `all` (the store is this process's alone: the embedded PGlite), removes
 * their rows and makes every unfinished transaction they leased due at `now`, so the next claim —
 * of any coordinator — takes it over. The owner token decides as ever: a dead coordinator that
 * was only frozen loses its writes to the new claim. Answers the ids declared dead and how many
 * transactions were freed.
 */
export async function takeOverDead(
  db: Queryable,
  self: string,
  now: Date,
  deadAfterMs: number,
  node: string | null,
  all: boolean,
): Promise<{ dead: string[]; freed: number }> {
  const { rows } = await db.query<{ id: string; freed: string }>(
    "takeOverDead",
    `with dead as (
       delete from coordinator
       where id <> $1
         and ($6::boolean or node = $4::text
              or heartbeat_time < clock_timestamp() - $3::double precision * interval '1 millisecond')
       returning id),
     freed as (
       update trans_global set next_cron_time = $2
       where status = any($5::text[]) and next_cron_time > $2 and owner <> ''
         and split_part(owner, '-', 1) in (select id from dead)
       returning 1)
     select id, (select count(*) from freed) as freed from dead`,
    [self, now, deadAfterMs, node, UNFINISHED, all],
  );
  return { dead: rows.map((r) => r.id), freed: rows.length > 0 ? Number(rows[0].freed) : 0 };
}
