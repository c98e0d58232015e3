/**
 * dtm's operator routes end to end: scenarios 62–64 of §10.3 (dtm's api_test.go: forceStop,
 * resetNextCronTime, resetCronTime), and a force-stop that beats a running pass.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, dropLeftoverScripts, freshGid, summary, transferBody } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

/** A saga left `submitted` by an ONGOING first action. */
async function runningSaga(prefix: string): Promise<string> {
  const gid = freshGid(prefix);
  rm.script("TransOut", "ONG");
  expect((await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid))).status).toBe(200);
  await dtx.settled(gid);
  expect(await dtx.status(gid)).toBe("submitted");
  return gid;
}

describe("62: forceStop", () => {
  test("a submitted saga → 200 and failed at once, nothing called; the recovery worker leaves it", async () => {
    const gid = await runningSaga("stop");
    const before = callsOf(rm, gid).length;
    expect(await dtx.post("/api/dtmsvr/forceStop", { gid })).toEqual({
      status: 200,
      body: { dtm_result: "SUCCESS" },
    });
    const { transaction } = await dtx.query(gid);
    expect(transaction).toMatchObject({ status: "failed", rollback_reason: "force stopped" });
    expect(transaction.rollback_time).toEqual(expect.any(String));
    expect(transaction.next_cron_time).toBeUndefined();
    expect(await dtx.cron({ lookAheadMs: 10_000_000 })).not.toContain(gid);
    expect(callsOf(rm, gid)).toHaveLength(before);
    expect(await dtx.branchVector(gid)).toEqual(["P", "P", "P", "P"]);
  });

  test("a finished one → 409 with dtm's text; an unknown gid → 404; no gid → 400", async () => {
    const gid = freshGid("stop-done");
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid, { wait_result: true }));
    expect(await dtx.post("/api/dtmsvr/forceStop", { gid })).toEqual({
      status: 409,
      body: {
        dtm_result: "FAILURE",
        message: "global transaction force stop error. status: succeed. error: FAILURE",
      },
    });
    expect(await dtx.status(gid)).toBe("succeed");
    const unknown = await dtx.post("/api/dtmsvr/forceStop", { gid: "no-such-gid" });
    expect([unknown.status, unknown.body.message]).toEqual([
      404,
      "no TransGlobal with gid: no-such-gid found. FAILURE",
    ]);
    expect((await dtx.post("/api/dtmsvr/forceStop", {})).body).toEqual({
      dtm_result: "FAILURE",
      message: "gid: is required. FAILURE",
    });
  });

  test("a saga rolling back keeps its reason", async () => {
    const gid = freshGid("stop-aborting");
    rm.script("TransIn", "FAIL");
    rm.script("TransOutRevert", "ERR");
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid));
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("aborting");
    expect((await dtx.post("/api/dtmsvr/forceStop", { gid })).status).toBe(200);
    const { transaction } = await dtx.query(gid);
    expect(transaction.status).toBe("failed");
    expect(transaction.rollback_reason).toContain("Insufficient balance");
  });
});

describe("62: a force-stop beats a running pass", () => {
  let gate: http.Server;
  let gateUrl: string;
  let arrived: () => void;
  let answer: (status: number) => void = () => undefined;

  beforeAll(async () => {
    gate = http.createServer((req, res) => {
      req.resume();
      answer = (status) => res.writeHead(status).end(status === 409 ? "FAILURE" : "");
      arrived();
    });
    await new Promise<void>((resolve) => gate.listen(0, "127.0.0.1", resolve));
    gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/Gate`;
  });
  afterAll(async () => {
    gate.closeAllConnections();
    await new Promise((resolve) => gate.close(resolve));
  });

  test.each([
    ["the forward phase makes no further call", 200],
    ["a FAILURE after the stop starts no compensation", 409],
  ])("%s", async (_name, gateAnswer) => {
    const gid = freshGid("stop-running");
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const body = {
      gid,
      trans_type: "saga",
      steps: [
        { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
        { action: gateUrl, compensate: rm.url("TransInRevert") },
        { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
      ],
      payloads: ["{}", "{}", "{}"],
    };
    expect((await dtx.post("/api/dtmsvr/submit", body)).status).toBe(200);
    await reached; // the pass waits for the gate's answer

    expect((await dtx.post("/api/dtmsvr/forceStop", { gid })).status).toBe(200);
    answer(gateAnswer);
    await dtx.settled(gid);

    expect(await dtx.status(gid)).toBe("failed");
    expect(summary(callsOf(rm, gid))).toEqual([["TransOut", "action", "01"]]);
    // the pass's own write lost: the rows are as the stop found them
    expect(await dtx.branchVector(gid)).toEqual(["P", "P", "P", "P", "P", "P"]);
  });
});

describe("63: resetNextCronTime", () => {
  test("an unfinished transaction becomes due now; the recovery worker takes it at once", async () => {
    const gid = freshGid("reset-next");
    rm.script("TransOut", "ERR");
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid));
    await dtx.settled(gid);
    const before = (await dtx.query(gid)).transaction;
    expect(before.next_cron_interval).toBe(20); // one error: backed off
    expect(await dtx.cron({ lookAheadMs: 0 })).not.toContain(gid);

    expect(await dtx.post("/api/dtmsvr/resetNextCronTime", { gid })).toEqual({
      status: 200,
      body: { dtm_result: "SUCCESS" },
    });
    const after = (await dtx.query(gid)).transaction;
    expect(after.next_cron_time).not.toBe(before.next_cron_time);
    expect(Date.parse(after.next_cron_time)).toBeLessThanOrEqual(Date.now() + 3000);
    expect(await dtx.cron({ lookAheadMs: 0 })).toContain(gid);
    expect(await dtx.status(gid)).toBe("succeed");
  });

  test("a finished one → 409; an unknown gid → 404", async () => {
    const gid = freshGid("reset-done");
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid, { wait_result: true }));
    const done = await dtx.post("/api/dtmsvr/resetNextCronTime", { gid });
    expect([done.status, done.body.message]).toEqual([
      409,
      `transaction ${gid} is succeed: there is nothing to retry. FAILURE`,
    ]);
    expect((await dtx.post("/api/dtmsvr/resetNextCronTime", { gid: "no-such-gid" })).status).toBe(404);
  });
});

describe("64: resetCronTime", () => {
  /** Moves the next look of `gids` to `seconds` from now, as a long backoff would have. */
  async function dueIn(gids: string[], seconds: number): Promise<void> {
    const now = dtx.app.clock.now();
    await dtx.app.store.db.query("update trans_global set next_cron_time = $2 where gid = any($1)", [
      gids,
      new Date(now.getTime() + seconds * 1000),
    ]);
  }
  const reset = (query: string) => dtx.get(`/api/dtmsvr/resetCronTime${query}`);

  test("counts, limits and reports the rest; the reset ones are claimable", async () => {
    const far: string[] = [];
    for (let i = 0; i < 10; i++) far.push(await runningSaga(`far-${i}`));
    const near = await runningSaga("near");
    await dueIn(far, 110);
    await dueIn([near], 90);

    expect(await reset("?timeout=100&limit=9")).toEqual({
      status: 200,
      body: { has_remaining: true, succeed_count: 9 },
    });
    expect((await reset("?timeout=100&limit=10")).body).toEqual({ has_remaining: false, succeed_count: 1 });
    expect((await reset("?timeout=88&limit=10")).body).toEqual({ has_remaining: false, succeed_count: 1 });
    expect((await reset("?timeout=88&limit=10")).body).toEqual({ has_remaining: false, succeed_count: 0 });
    const claimed = await dtx.cron({ lookAheadMs: 0 });
    expect(claimed.sort()).toEqual([...far, near].sort());
    for (const gid of [...far, near]) expect(await dtx.status(gid)).toBe("succeed");
  });

  test("defaults: three times the server's timeoutToFail (105 s), 100 at most", async () => {
    const gids = [await runningSaga("dflt-a"), await runningSaga("dflt-b")];
    await dueIn([gids[0]!], 106);
    await dueIn([gids[1]!], 104);
    expect((await reset("")).body).toEqual({ has_remaining: false, succeed_count: 1 });
    expect(await dtx.cron({ lookAheadMs: 0 })).toEqual([gids[0]]);
    await dtx.cron({ lookAheadMs: 200_000 });
  });

  test("bad parameters → 400 naming them", async () => {
    expect((await reset("?limit=0")).body.message).toBe("limit: must be between 1 and 1000. FAILURE");
    expect((await reset("?limit=1001")).status).toBe(400);
    expect((await reset("?timeout=-1")).body.message).toBe(
      'timeout: must be a non-negative integer, not "-1". FAILURE',
    );
  });
});
