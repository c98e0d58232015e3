/**
 * 2-phase messages end to end over dtm's HTTP API: scenarios 38–49 of §10.3 (dtm's msg_test.go,
 * msg_options_test.go, msg_delay_test.go, msg_jrpc_test.go) against a real coordinator and real branch
 * services on loopback, "the cron" run by the test with time travel.
 */
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { checkBackFails, checkBackSucceeds, expectCheckBack, expectStepCall, msgBody } from "./msg-helpers";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, IN, OK, OUT, summary } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
  // dtm's harness sends alerts to busi's AlertWebHook (scenario 47)
  dtx = await TestCoordinator.start({ alert: { webhook: rm.url("AlertWebHook") } });
  // dtm's test harness subscribes this topic once: TransOut, then TransIn
  for (const name of ["TransOut", "TransIn"]) {
    const url = encodeURIComponent(rm.url(name));
    expect(await dtx.get(`/api/dtmsvr/subscribe?topic=http_trans&url=${url}&remark=for%20test`)).toEqual(OK);
  }
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

const post = (route: string, body: unknown) => dtx.post(`/api/dtmsvr/${route}`, body);

test("38: topic http_trans, direct submit → submitted when answered, then succeed [S,S] with ids 01-01, 01-02", async () => {
  const gid = freshGid("msg-topic");
  // the first delivery hangs past its 1 s request timeout: the answer comes before any step succeeded
  rm.script("TransOut", "HANG");
  const body = {
    ...msgBody(rm, gid),
    steps: [{ action: "topic://http_trans" }],
    payloads: [OUT],
    request_timeout: 1,
  };
  expect(await post("submit", body)).toEqual(OK);
  expect(await dtx.status(gid)).toBe("submitted");
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "submitted", ["P", "P"]);

  expect(await dtx.cron({ forwardMs: 20_000 })).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  const { transaction, branches } = await dtx.query(gid);
  expect(transaction).toMatchObject({ gid, trans_type: "msg", status: "succeed", protocol: "http" });
  expect(branches.map((b) => [b.branch_id, b.op, b.url])).toEqual([
    ["01-01", "action", rm.url("TransOut")],
    ["01-02", "action", rm.url("TransIn")],
  ]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01-01"],
    ["TransOut", "action", "01-01"],
    ["TransIn", "action", "01-02"],
  ]);
  expectStepCall(calls[1]!, gid, "TransOut", "01-01", OUT);
  expectStepCall(calls[2]!, gid, "TransIn", "01-02", OUT);
});

test("direct submit, plain steps: delivered in order with their payloads", async () => {
  const gid = freshGid("msg-direct");
  expect(await post("submit", msgBody(rm, gid, { wait_result: true }))).toEqual(OK);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  const calls = callsOf(rm, gid);
  expect(calls).toHaveLength(2);
  expectStepCall(calls[0]!, gid, "TransOut", "01", OUT);
  expectStepCall(calls[1]!, gid, "TransIn", "02", IN);
});

test("39: prepare; check-back ONG → prepared; check-back OK, TransIn ONG×1 → submitted [S,P]; cron → succeed", async () => {
  const gid = freshGid("msg-timeout-ok");
  const calls = await checkBackSucceeds(dtx, rm, gid, async () =>
    expect(await post("prepare", msgBody(rm, gid))).toEqual(OK),
  );
  expectCheckBack(calls[0]!, gid);
  expectCheckBack(calls[1]!, gid);
});

test("40: prepare; check-back ONG → prepared; check-back FAIL → failed [P,P], no step called", async () => {
  const gid = freshGid("msg-timeout-fail");
  await checkBackFails(dtx, rm, gid, async () => expect(await post("prepare", msgBody(rm, gid))).toEqual(OK));
  const { transaction } = await dtx.query(gid);
  expect(transaction.rollback_reason).toContain("query_prepared answered FAILURE");
});

test("41: prepare twice → 200 both; submit → 200; prepare after succeed → 409", async () => {
  const gid = freshGid("msg-abnormal");
  expect(await post("prepare", msgBody(rm, gid))).toEqual(OK);
  expect(await post("prepare", msgBody(rm, gid))).toEqual(OK);
  expect(await post("submit", msgBody(rm, gid))).toEqual(OK);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  expect(await post("prepare", msgBody(rm, gid))).toEqual({
    status: 409,
    body: { dtm_result: "FAILURE", message: "current status 'succeed', cannot prepare. FAILURE" },
  });
});

test("42: a step on an unknown topic → 400 naming the step, `topic not found`; nothing written", async () => {
  const gid = freshGid("msg-no-topic");
  const body = { ...msgBody(rm, gid), steps: [{ action: "topic://no_such_topic" }], payloads: [OUT] };
  expect(await post("submit", body)).toEqual({
    status: 400,
    body: {
      dtm_result: "FAILURE",
      message: 'steps[0].action: topic not found: "no_such_topic" has no subscribers. FAILURE',
    },
  });
  expect(await dtx.query(gid)).toEqual({ transaction: null, branches: [] });
});

test("43: prepared, not yet timed out (35 s default) → untouched; past it → check-back OK → succeed", async () => {
  const gid = freshGid("msg-default-timeout");
  expect(await post("prepare", msgBody(rm, gid))).toEqual(OK);
  expect(await dtx.cron()).toContain(gid); // looked at early: nothing is called
  await expectSaga(dtx, gid, "prepared", ["P", "P"]);
  expect(callsOf(rm, gid)).toEqual([]);
  expect(await dtx.cron({ forwardMs: 60_000 })).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  expect(summary(callsOf(rm, gid))[0]).toEqual(["QueryPrepared", "msg", "00"]);
});

test("44: timeout_to_fail 120 → prepared at +60; check-back at +180 → succeed, or failed when it says FAIL", async () => {
  const ok = freshGid("msg-timeout-120");
  const failed = freshGid("msg-timeout-120-fail");
  expect(await post("prepare", msgBody(rm, ok, { timeout_to_fail: 120 }))).toEqual(OK);
  await dtx.cron({ forwardMs: 60_000 });
  await expectSaga(dtx, ok, "prepared", ["P", "P"]);
  expect(callsOf(rm, ok)).toEqual([]);
  expect(await dtx.cron({ forwardMs: 180_000 })).toContain(ok);
  await expectSaga(dtx, ok, "succeed", ["S", "S"]);

  rm.script("QueryPrepared", "FAIL");
  expect(await post("prepare", msgBody(rm, failed, { timeout_to_fail: 120 }))).toEqual(OK);
  expect(await dtx.cron({ forwardMs: 180_000 })).toContain(failed);
  await expectSaga(dtx, failed, "failed", ["P", "P"]);
});

test("45: concurrent → both steps called, succeed [S,S]; query shows concurrent", async () => {
  const gid = freshGid("msg-concurrent");
  expect(await post("submit", msgBody(rm, gid, { concurrent: true, wait_result: true }))).toEqual(OK);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  const { transaction } = await dtx.query(gid);
  expect(transaction.concurrent).toBe(true);
  expect(JSON.parse(transaction.options)).toMatchObject({ wait_result: true, concurrent: true });
  expect(summary(callsOf(rm, gid)).sort()).toEqual([
    ["TransIn", "action", "02"],
    ["TransOut", "action", "01"],
  ]);
});

test("46: custom_data delay 10 → submitted [P,P]; nothing at +0 and +8 s; succeed at +12 s", async () => {
  const gid = freshGid("msg-delay");
  expect(await post("submit", msgBody(rm, gid, { custom_data: '{"delay":10}' }))).toEqual(OK);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "submitted", ["P", "P"]);
  expect((await dtx.query(gid)).transaction.custom_data).toBe('{"delay":10}');
  expect(await dtx.cron({ lookAheadMs: 0 })).not.toContain(gid);
  expect(await dtx.cron({ forwardMs: 8_000, lookAheadMs: 0 })).not.toContain(gid);
  expect(callsOf(rm, gid)).toEqual([]);
  expect(await dtx.cron({ forwardMs: 12_000, lookAheadMs: 0 })).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
});

/** The alerts the webhook received about `gid` (they are sent without waiting: polled up to 5 s). */
async function alertsOf(gid: string, n: number): Promise<unknown[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const mine = rm.callsTo("AlertWebHook").map((c) => JSON.parse(c.body.toString()) as { gid: string });
    const found = mine.filter((a) => a.gid === gid);
    if (found.length >= n || Date.now() > deadline) return found;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("47: TransIn ERR on the submit pass and 2 looks after → 20 s, 40 s, 80 s; alerted (retry_count 3); then succeed", async () => {
  const gid = freshGid("msg-backoff");
  rm.script("TransIn", "ERR", "ERR", "ERR");
  expect(await post("submit", msgBody(rm, gid))).toEqual(OK);
  await dtx.settled(gid);
  const intervals: number[] = [(await dtx.query(gid)).transaction.next_cron_interval];
  for (const forwardMs of [20_000, 60_000]) {
    expect(await dtx.cron({ forwardMs, lookAheadMs: 1000 })).toContain(gid);
    intervals.push((await dtx.query(gid)).transaction.next_cron_interval);
  }
  expect(intervals).toEqual([20, 40, 80]);
  await expectSaga(dtx, gid, "submitted", ["S", "P"]);
  expect(await alertsOf(gid, 1)).toEqual([
    {
      gid,
      status: "submitted",
      branch: rm.url("TransIn"),
      error: '500: {"error":"injected error"}',
      retry_count: 3,
      branch_id: "02",
      op: "action",
    },
  ]);
  expect(await dtx.cron({ forwardMs: 140_000, lookAheadMs: 1000 })).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  expect(summary(callsOf(rm, gid)).map((c) => c[0])).toEqual([
    "TransOut",
    "TransIn",
    "TransIn",
    "TransIn",
    "TransIn",
  ]);
});

test("48: submit again after succeed → 409 FAILURE", async () => {
  const gid = freshGid("msg-repeated");
  expect(await post("submit", msgBody(rm, gid, { wait_result: true }))).toEqual(OK);
  expect(await post("submit", msgBody(rm, gid))).toEqual({
    status: 409,
    body: { dtm_result: "FAILURE", message: "current status 'succeed', cannot sumbmit. FAILURE" },
  });
});

test("49: a step answering FAILURE or an unknown error keeps the message submitted and is retried until OK", async () => {
  const gid = freshGid("msg-results");
  rm.script(
    "TransOut",
    "FAIL",
    { status: 200, body: '{"dtm_result":"FAILURE"}' },
    { status: 503, body: "busy" },
  );
  expect(await post("submit", msgBody(rm, gid))).toEqual(OK);
  await dtx.settled(gid);
  for (let look = 1; look <= 3; look++) {
    await expectSaga(dtx, gid, "submitted", ["P", "P"]);
    expect(await dtx.cron({ forwardMs: 200_000 * look })).toContain(gid);
  }
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  const { transaction } = await dtx.query(gid);
  expect(transaction.rollback_reason).toBeUndefined();
  expect(summary(callsOf(rm, gid)).map((c) => c[0])).toEqual([
    "TransOut",
    "TransOut",
    "TransOut",
    "TransOut",
    "TransIn",
  ]);
});

describe("abort and wait_result", () => {
  test("abort of a prepared message → failed, nothing called; abort again → 409", async () => {
    const gid = freshGid("msg-abort");
    expect(await post("prepare", msgBody(rm, gid))).toEqual(OK);
    expect(await post("abort", msgBody(rm, gid))).toEqual(OK);
    await expectSaga(dtx, gid, "failed", ["P", "P"]);
    expect(await post("abort", msgBody(rm, gid))).toEqual({
      status: 409,
      body: {
        dtm_result: "FAILURE",
        message: "trans type: 'msg' current status 'failed', cannot abort. FAILURE",
      },
    });
    expect(callsOf(rm, gid)).toEqual([]);
  });

  test("wait_result: a step that does not succeed in the first pass answers 409, the message goes on", async () => {
    const gid = freshGid("msg-wait");
    rm.script("TransIn", "ONG");
    expect(await post("submit", msgBody(rm, gid, { wait_result: true }))).toEqual({
      status: 409,
      body: { dtm_result: "FAILURE", message: "wait result not return success: FAILURE" },
    });
    await expectSaga(dtx, gid, "submitted", ["S", "P"]);
    expect(await dtx.cron()).toContain(gid);
    await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  });

  test("a message cannot be prepared without query_prepared (400, nothing written)", async () => {
    const gid = freshGid("msg-no-qp");
    expect(await post("prepare", msgBody(rm, gid, { query_prepared: "" }))).toEqual({
      status: 400,
      body: {
        dtm_result: "FAILURE",
        message: "query_prepared: is required to prepare a message: it is asked whether to send it. FAILURE",
      },
    });
    expect(await post("prepare", msgBody(rm, gid, { custom_data: '{"delay":-1}' }))).toMatchObject({
      status: 400,
      body: { message: expect.stringContaining("custom_data.delay: must be a non-negative integer") },
    });
    expect(await dtx.query(gid)).toEqual({ transaction: null, branches: [] });
  });
});
