/**
 * Saga end-to-end, HTTP, transaction options: scenarios 8–17 of §10.3 (dtm's saga_options_test.go) —
 * retry_interval, timeout_to_fail, wait_result, branch_headers, retry_limit, request_timeout.
 */
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import {
  expectRefused,
  callsOf,
  dropLeftoverScripts,
  expectHttpBranchCalls,
  freshGid,
  summary,
  expectSaga,
  IN,
  OK,
  OUT,
  payloadOf,
  transferBody,
} from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  // scenario 14: this route answers ERR unless the branch header is present
  rm.requireHeader("TransOutHeaderYes", "test_header", "test");
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

const sagaBody = (gid: string, extra: Record<string, unknown> = {}) => transferBody(rm, gid, extra);

/** A one-step saga (TransOut/TransOutRevert). */
function oneStepBody(gid: string, extra: Record<string, unknown> = {}) {
  return {
    gid,
    trans_type: "saga",
    steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
    payloads: [OUT],
    ...extra,
  };
}

async function submit(body: unknown): Promise<{ status: number; body: any }> {
  return dtx.post("/api/dtmsvr/submit", body);
}

test("8: retry_interval=150, action ONG×1 → submitted, next_cron_interval 150; cron(0) look 180 → succeed", async () => {
  const gid = freshGid("saga-retry-ongoing");
  rm.script("TransOut", "ONG");

  expect(await submit(oneStepBody(gid, { retry_interval: 150 }))).toEqual(OK);
  await dtx.settled(gid);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("submitted");
  expect(transaction.next_cron_interval).toBe(150);
  expect(await dtx.branchVector(gid)).toEqual(["P", "P"]);

  expect(await dtx.cron({ lookAheadMs: 180_000 })).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransOut", "action", "01"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("9: retry_interval=150, action ERR×1 → next_cron_interval 300; look 180 claims nothing; look 360 → succeed", async () => {
  const gid = freshGid("saga-retry-error");
  rm.script("TransOut", "ERR");

  expect(await submit(oneStepBody(gid, { retry_interval: 150 }))).toEqual(OK);
  await dtx.settled(gid);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("submitted");
  expect(transaction.next_cron_interval).toBe(300);
  expect(await dtx.branchVector(gid)).toEqual(["P", "P"]);

  expect(await dtx.cron({ lookAheadMs: 180_000 })).not.toContain(gid);
  expect(await dtx.status(gid)).toBe("submitted");
  expect(callsOf(rm, gid)).toHaveLength(1);

  expect(await dtx.cron({ lookAheadMs: 360_000 })).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransOut", "action", "01"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("10: timeout_to_fail=1800, TransOut ONG; cron(+3600) → failed, [S,P,P,P], Timeout after 1800 seconds", async () => {
  const gid = freshGid("saga-timeout");
  rm.script("TransOut", "ONG");

  expect(await submit(sagaBody(gid, { timeout_to_fail: 1800 }))).toEqual(OK);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "submitted", ["P", "P", "P", "P"]);

  expect(await dtx.cron({ forwardMs: 3_600_000 })).toContain(gid);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toBe("Timeout after 1800 seconds");
  // step 1's outcome is unknown, so it is compensated; step 2 could never have started
  expect(await dtx.branchVector(gid)).toEqual(["S", "P", "P", "P"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransOutRevert", "compensate", "01"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("11: wait_result, all OK → 200 SUCCESS and already succeed", async () => {
  const gid = freshGid("saga-wait-ok");

  expect(await submit(sagaBody(gid, { wait_result: true }))).toEqual(OK);
  // no settled(): the pass ran inside the request
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("12: wait_result, TransOut ONG×1 → 409 wait result not return success; submitted; cron(0) → succeed", async () => {
  const gid = freshGid("saga-wait-ongoing");
  rm.script("TransOut", "ONG");

  expect(await submit(sagaBody(gid, { wait_result: true }))).toEqual({
    status: 409,
    body: { dtm_result: "FAILURE", message: "wait result not return success: FAILURE" },
  });
  await expectSaga(dtx, gid, "submitted", ["P", "P", "P", "P"]);

  expect(await dtx.cron()).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("13: wait_result, TransIn FAIL → 409 carrying the reason; failed, [S,S,S,F]", async () => {
  const gid = freshGid("saga-wait-rollback");
  rm.script("TransIn", "FAIL");

  const res = await submit(sagaBody(gid, { wait_result: true }));
  expect(res.status).toBe(409);
  expect(res.body.dtm_result).toBe("FAILURE");
  expect(res.body.message).toContain("Insufficient balance");
  expect(res.body.message).toContain("FAILURE");
  await expectRefused(dtx, gid, ["S", "S", "S", "F"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransInRevert", "compensate", "02"],
    ["TransOutRevert", "compensate", "01"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

describe("14: branch_headers", () => {
  const headers = { test_header: "test" };
  const headerBody = (gid: string) => ({
    gid,
    trans_type: "saga",
    steps: [
      { action: rm.url("TransOutHeaderYes"), compensate: rm.url("TransOutRevert") },
      { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
    ],
    payloads: [OUT, IN],
    branch_headers: headers,
  });

  test("the RM requiring the header is satisfied → succeed; every call carries the header", async () => {
    const gid = freshGid("saga-headers");

    expect(await submit(headerBody(gid))).toEqual(OK);
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
    const calls = callsOf(rm, gid);
    expect(summary(calls)).toEqual([
      ["TransOutHeaderYes", "action", "01"],
      ["TransIn", "action", "02"],
    ]);
    expectHttpBranchCalls(calls, gid, payloadOf, headers);
  });

  test("action ONG×1 then cron(0): the headers are re-sent from the stored options → succeed", async () => {
    const gid = freshGid("saga-headers-cron");
    rm.script("TransOutHeaderYes", "ONG");

    expect(await submit(headerBody(gid))).toEqual(OK);
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "submitted", ["P", "P", "P", "P"]);

    expect(await dtx.cron()).toContain(gid);
    await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
    const calls = callsOf(rm, gid);
    expect(summary(calls)).toEqual([
      ["TransOutHeaderYes", "action", "01"],
      ["TransOutHeaderYes", "action", "01"],
      ["TransIn", "action", "02"],
    ]);
    expectHttpBranchCalls(calls, gid, payloadOf, headers);
  });
});

test("15: retry_limit=3, wait_result, TransIn ERR×3 then OK → 200, succeed, [P,S,P,S]", async () => {
  const gid = freshGid("saga-retry-limit-ok");
  rm.script("TransIn", "ERR", "ERR", "ERR");

  expect(await submit(sagaBody(gid, { retry_limit: 3, wait_result: true }))).toEqual(OK);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransIn", "action", "02"],
    ["TransIn", "action", "02"],
    ["TransIn", "action", "02"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("16: retry_limit=1, wait_result, TransIn ERR persistently → 409; failed, [S,S,S,P], exact reason", async () => {
  const gid = freshGid("saga-retry-limit-no");
  rm.setDefault("TransIn", "ERR");
  try {
    const res = await submit(sagaBody(gid, { retry_limit: 1, wait_result: true }));
    expect(res.status).toBe(409);
    expect(res.body.dtm_result).toBe("FAILURE");
    expect(res.body.message).toContain("RetryCount is greater than RetryLimit, RetryLimit: 1");
  } finally {
    rm.setDefault("TransIn", "OK");
  }
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toBe("RetryCount is greater than RetryLimit, RetryLimit: 1");
  expect(await dtx.branchVector(gid)).toEqual(["S", "S", "S", "P"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransIn", "action", "02"],
    ["TransInRevert", "compensate", "02"],
    ["TransOutRevert", "compensate", "01"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("17: request_timeout=6, wait_result, one step → 200", async () => {
  const gid = freshGid("saga-request-timeout");

  expect(await submit(oneStepBody(gid, { request_timeout: 6, wait_result: true }))).toEqual(OK);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("succeed");
  expect(JSON.parse(transaction.options)).toMatchObject({ request_timeout: 6, wait_result: true });
  expect(await dtx.branchVector(gid)).toEqual(["P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([["TransOut", "action", "01"]]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});
