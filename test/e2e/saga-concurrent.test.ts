/**
 * Concurrent saga end-to-end, HTTP: scenarios 18–23 of §10.3 (dtm's saga_concurrent_test.go) —
 * `custom_data={"concurrent":true,"orders":{…}}`. Where the call order is racy, calls are compared as sets;
 * `orders` (and the compensation order it implies) are asserted as orders.
 */
import type { BranchCall } from "../support/branch-services";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import {
  expectRefused,
  callsOf,
  dropLeftoverScripts,
  expectHttpBranchCalls,
  freshGid,
  summary,
  summarySet,
  expectSaga,
  OK,
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

function concurrentBody(gid: string, orders?: Record<string, number[]>) {
  return transferBody(rm, gid, {
    custom_data: JSON.stringify(orders ? { concurrent: true, orders } : { concurrent: true }),
  });
}

async function submit(body: unknown): Promise<{ status: number; body: any }> {
  return dtx.post("/api/dtmsvr/submit", body);
}

/** Index of the first call matching [name, op] (−1 if none). */
function indexOf(calls: BranchCall[], name: string, op: string): number {
  return summary(calls).findIndex(([n, o]) => n === name && o === op);
}

test("18: no orders, all OK → succeed, [P,S,P,S]", async () => {
  const gid = freshGid("con-normal");

  expect(await submit(concurrentBody(gid))).toEqual(OK);
  await dtx.settled(gid);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("succeed");
  expect(transaction.custom_data).toBe('{"concurrent":true}');
  expect(await dtx.branchVector(gid)).toEqual(["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summarySet(calls)).toEqual([
    ["TransIn", "action", "02"],
    ["TransOut", "action", "01"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test('19: orders {"1":[0]}, all OK → succeed; TransIn only after TransOut', async () => {
  const gid = freshGid("con-order");

  expect(await submit(concurrentBody(gid, { "1": [0] }))).toEqual(OK);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test('20: orders {"1":[0]}, TransOut FAIL → failed, [S,F,P,P]; step 2 never called', async () => {
  const gid = freshGid("con-rollback-order");
  rm.script("TransOut", "FAIL");

  expect(await submit(concurrentBody(gid, { "1": [0] }))).toEqual(OK);
  await dtx.settled(gid);
  await expectRefused(dtx, gid, ["S", "F", "P", "P"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransOutRevert", "compensate", "01"],
  ]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test('21: orders {"1":[0]}, TransIn FAIL → failed, [S,S,S,F]; step 2 compensated before step 1', async () => {
  const gid = freshGid("con-rollback-order2");
  rm.script("TransIn", "FAIL");

  expect(await submit(concurrentBody(gid, { "1": [0] }))).toEqual(OK);
  await dtx.settled(gid);
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

test("22: no orders, TransOut ONG×1 → submitted, [P,P,P,S]; cron(0) → succeed, [P,S,P,S]", async () => {
  const gid = freshGid("con-ongoing");
  rm.script("TransOut", "ONG");

  expect(await submit(concurrentBody(gid))).toEqual(OK);
  await dtx.settled(gid);
  expect(await dtx.status(gid)).toBe("submitted");
  // step 2 ran in parallel with step 1
  expect(await dtx.branchVector(gid)).toEqual(["P", "P", "P", "S"]);
  expect(summarySet(callsOf(rm, gid))).toEqual([
    ["TransIn", "action", "02"],
    ["TransOut", "action", "01"],
  ]);

  expect(await dtx.cron()).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls.slice(2))).toEqual([["TransOut", "action", "01"]]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});

test("23: no orders, TransOut FAIL, TransOutRevert ONG×1 → aborting; cron(0) → failed", async () => {
  const gid = freshGid("con-rollback");
  rm.script("TransOut", "FAIL");
  rm.script("TransOutRevert", "ONG");

  expect(await submit(concurrentBody(gid))).toEqual(OK);
  await dtx.settled(gid);
  expect(await dtx.status(gid)).toBe("aborting");
  const first = callsOf(rm, gid);
  // both actions ran in parallel; both steps are compensated (step 2's outcome may be unknown: racy)
  expect(summarySet(first)).toEqual([
    ["TransIn", "action", "02"],
    ["TransInRevert", "compensate", "02"],
    ["TransOut", "action", "01"],
    ["TransOutRevert", "compensate", "01"],
  ]);
  // step 1 is compensated only after its action answered FAILURE
  expect(indexOf(first, "TransOutRevert", "compensate")).toBeGreaterThan(
    indexOf(first, "TransOut", "action"),
  );
  const afterPass = await dtx.branchVector(gid);
  expect(afterPass.slice(0, 3)).toEqual(["P", "F", "S"]);
  expect(["P", "S"]).toContain(afterPass[3]);

  expect(await dtx.cron()).toContain(gid);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toContain("Insufficient balance");
  const vector = await dtx.branchVector(gid);
  expect(vector.slice(0, 3)).toEqual(["S", "F", "S"]);
  expect(["P", "S"]).toContain(vector[3]);
  const calls = callsOf(rm, gid);
  expect(summary(calls.slice(4))).toEqual([["TransOutRevert", "compensate", "01"]]);
  expectHttpBranchCalls(calls, gid, payloadOf);
});
