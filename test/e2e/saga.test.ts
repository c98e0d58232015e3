/**
 * Saga end-to-end, HTTP: scenarios 1–7 of §10.3 (dtm's saga_test.go, saga_compatible_test.go) against a real
 * coordinator and real branch services on loopback.
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
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

const sagaBody = (gid: string, extra: Record<string, unknown> = {}) => transferBody(rm, gid, extra);

async function submit(body: unknown): Promise<{ status: number; body: any }> {
  return dtx.post("/api/dtmsvr/submit", body);
}

test("1: all branches OK → succeed, [P,S,P,S], no rollback_reason", async () => {
  const { body: newGid } = await dtx.get("/api/dtmsvr/newGid");
  expect(newGid).toEqual({ gid: expect.any(String), dtm_result: "SUCCESS" });
  const gid: string = newGid.gid;

  expect(await submit(sagaBody(gid))).toEqual(OK);
  await dtx.settled(gid);

  const { transaction } = await dtx.query(gid);
  expect(transaction).toMatchObject({ gid, trans_type: "saga", status: "succeed", protocol: "http" });
  expect(transaction.rollback_reason).toBeUndefined();
  expect(await dtx.branchVector(gid)).toEqual(["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("2: TransIn FAIL → failed, [S,S,S,F], reason names the failure, TransInRevert before TransOutRevert", async () => {
  const gid = freshGid("saga-rollback");
  rm.script("TransIn", "FAIL");

  expect(await submit(sagaBody(gid))).toEqual(OK);
  await dtx.settled(gid);

  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toContain("Insufficient balance");
  expect(transaction.rollback_time).toEqual(expect.any(String));
  expect(await dtx.branchVector(gid)).toEqual(["S", "S", "S", "F"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransInRevert", "compensate", "02"],
    ["TransOutRevert", "compensate", "01"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("3: TransOut ONG×1 → submitted, [P,P,P,P]; cron(0) → succeed, [P,S,P,S]", async () => {
  const gid = freshGid("saga-ongoing");
  rm.script("TransOut", "ONG");

  expect(await submit(sagaBody(gid))).toEqual(OK);
  await dtx.settled(gid);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("submitted");
  // ONGOING keeps the interval (§5.5): the server default, 10 s
  expect(transaction.next_cron_interval).toBe(10);
  expect(await dtx.branchVector(gid)).toEqual(["P", "P", "P", "P"]);
  expect(summary(callsOf(rm, gid))).toEqual([["TransOut", "action", "01"]]);

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

test("4: TransIn FAIL, TransOutRevert ERR×1 → aborting; cron(0) → failed, [S,S,S,F]", async () => {
  const gid = freshGid("saga-comp-error");
  rm.script("TransIn", "FAIL");
  rm.script("TransOutRevert", "ERR");

  expect(await submit(sagaBody(gid))).toEqual(OK);
  await dtx.settled(gid);
  const aborting = (await dtx.query(gid)).transaction;
  expect(aborting.status).toBe("aborting");
  // an erroring compensation backs off (§5.5): 10 s doubled
  expect(aborting.next_cron_interval).toBe(20);
  expect(await dtx.branchVector(gid)).toEqual(["P", "S", "S", "F"]);
  expect(summary(callsOf(rm, gid))).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransInRevert", "compensate", "02"],
    ["TransOutRevert", "compensate", "01"],
  ]);

  expect(await dtx.cron()).toContain(gid);
  await expectRefused(dtx, gid, ["S", "S", "S", "F"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls.slice(4))).toEqual([["TransOutRevert", "compensate", "01"]]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("5: duplicate submit of a submitted saga re-drives it; a submit after succeed is 409", async () => {
  const gid = freshGid("saga-abnormal");
  rm.script("TransOut", "ONG");

  expect(await submit(sagaBody(gid))).toEqual(OK);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "submitted", ["P", "P", "P", "P"]);

  expect(await submit(sagaBody(gid))).toEqual(OK);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);

  expect(await submit(sagaBody(gid))).toEqual({
    status: 409,
    body: { dtm_result: "FAILURE", message: "current status 'succeed', cannot sumbmit. FAILURE" },
  });
  await dtx.settled(gid);
  expect(await dtx.status(gid)).toBe("succeed");
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("6: a step with empty action and compensate URLs succeeds without a call", async () => {
  const gid = freshGid("saga-empty-url");
  const body = sagaBody(gid);
  body.steps[1] = { action: "", compensate: "" };

  expect(await submit(body)).toEqual(OK);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([["TransOut", "action", "01"]]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("7: legacy body with steps[i].data and no payloads → succeed, the data is the branch body", async () => {
  const gid = freshGid("saga-legacy");
  const body = {
    gid,
    trans_type: "saga",
    steps: [
      { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert"), data: OUT },
      { action: rm.url("TransIn"), compensate: rm.url("TransInRevert"), data: IN },
    ],
  };

  expect(await submit(body)).toEqual(OK);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const { branches } = await dtx.query(gid);
  expect(branches.map((b) => Buffer.from(b.bin_data, "base64").toString())).toEqual([OUT, OUT, IN, IN]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});
