/**
 * Fast takeover: a coordinator registers with a heartbeat; the transactions leased by one that stopped
 * beating are taken over long before their lease runs out, while a live coordinator's lease is never
 * touched. The kill -9 versions of this (real processes, timed) are in test/fault/.
 */
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
  dtx = await TestCoordinator.start({
    // the poll is an hour away: only the takeover's wake-up can make the worker claim in this test
    recovery: { enabled: true, pollInterval: 3_600_000, heartbeat: 100, deadAfter: 400 },
  });
});
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
}, 20_000);

async function sql(text: string, values: unknown[] = []): Promise<any[]> {
  return (await dtx.app.store.sql.query("test", text, values)).rows;
}

/** A submitted saga left unfinished (its first action answered ONGOING), then leased by `owner` for an hour. */
async function leasedSaga(gid: string, owner: string): Promise<void> {
  rm.script("TransOut", "ONG");
  const res = await dtx.post("/api/dtmsvr/submit", {
    gid,
    trans_type: "saga",
    steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
    payloads: ['{"amount":1}'],
  });
  expect(res.status).toBe(200);
  await dtx.settled(gid);
  expect(await dtx.status(gid)).toBe("submitted");
  await sql("update trans_global set owner = $2, next_cron_time = now() + interval '1 hour' where gid = $1", [
    gid,
    owner,
  ]);
}

async function until(what: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600 && !(await what()); i++) await new Promise((r) => setTimeout(r, 50));
}

test("the coordinator registers itself and keeps beating", async () => {
  const rows = await sql("select id, node from coordinator");
  expect(rows.map((r) => r.id)).toContain(dtx.app.engine.coordinatorId);
  const first = (
    await sql("select heartbeat_time from coordinator where id = $1", [dtx.app.engine.coordinatorId])
  )[0];
  await until(async () => {
    const now = await sql("select heartbeat_time from coordinator where id = $1", [
      dtx.app.engine.coordinatorId,
    ]);
    return now[0].heartbeat_time.getTime() > first.heartbeat_time.getTime();
  });
  const later = await sql("select heartbeat_time from coordinator where id = $1", [
    dtx.app.engine.coordinatorId,
  ]);
  expect(later[0].heartbeat_time.getTime()).toBeGreaterThan(first.heartbeat_time.getTime());
});

test("a dead coordinator's leased saga is taken over and finished; a live one's lease is left alone", async () => {
  await leasedSaga("to-dead", "deadbeef-7");
  await leasedSaga("to-live", "livecafe-3");
  // then one that stopped beating an hour ago, one whose beat is fresh (in the future: it never goes stale here)
  await sql(
    "insert into coordinator (id, node, start_time, heartbeat_time) values ('deadbeef', 'gone:1', now(), now() - interval '1 hour')",
  );
  await sql(
    "insert into coordinator (id, node, start_time, heartbeat_time) values ('livecafe', 'elsewhere:1', now(), now() + interval '1 hour')",
  );
  const liveBefore = (await sql("select owner, next_cron_time from trans_global where gid = 'to-live'"))[0];

  await until(async () => (await dtx.status("to-dead")) === "succeed");
  expect(await dtx.status("to-dead")).toBe("succeed");
  expect(await sql("select id from coordinator where id = 'deadbeef'")).toEqual([]);

  // the live coordinator's transaction: same owner, same lease, still unfinished
  const liveAfter = (
    await sql("select owner, next_cron_time, status from trans_global where gid = 'to-live'")
  )[0];
  expect(liveAfter).toEqual({ ...liveBefore, status: "submitted" });
  expect(await sql("select id from coordinator where id = 'livecafe'")).toHaveLength(1);
});
