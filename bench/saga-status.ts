/**
 * What became of the bench's sagas, asked through dtx's own dtm listing (`GET /api/dtmsvr/all`), the way a
 * user would: the database sits behind the coordinator (PGlite is inside its process).
 */
import { request } from "undici";
import { sleep } from "./load";

type Listing = { transactions: Array<{ gid: string; status: string }>; next_position: string };

async function list(origin: string, query: string): Promise<Listing> {
  const res = await request(`${origin}/api/dtmsvr/all?${query}`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`listing: HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
  return JSON.parse(text) as Listing;
}

/** Whether no saga is still running (none `submitted` or `aborting`). */
async function drained(origin: string): Promise<boolean> {
  for (const status of ["submitted", "aborting"]) {
    if ((await list(origin, `status=${status}&limit=1`)).transactions.length > 0) return false;
  }
  return true;
}

/** Polls until no saga is running, `deadline` (a Date.now() time) passes or `stop()` says so. */
export async function waitDrained(origin: string, deadline: number, stop: () => boolean): Promise<boolean> {
  for (;;) {
    if (await drained(origin)) return true;
    if (Date.now() > deadline || stop()) return false;
    await sleep(50);
  }
}

/**
 * How many sagas whose gid starts with `prefix` are in each status. It pages from the newest down and
 * stops at the first saga whose gid does not start with `within` (by default `prefix`): the bench counts
 * right after writing them, so they are among the newest.
 */
export async function statusCounts(
  origin: string,
  prefix: string,
  within = prefix,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let position = "";
  for (;;) {
    const page = await list(origin, `limit=1000${position ? `&position=${position}` : ""}`);
    for (const t of page.transactions) {
      if (!t.gid.startsWith(within)) return counts;
      if (!t.gid.startsWith(prefix)) continue;
      counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
    }
    if (page.next_position === "") return counts;
    position = page.next_position;
  }
}
