/**
 * Shared helpers of the 2-phase message end-to-end tests (scenarios 38–52 of §10.3 of the dtm protocol
 * spec). Not a test file: imported by msg*.test.ts.
 */
import type { BranchCall, BranchServices } from "../support/branch-services";
import type { TestCoordinator } from "../support/coordinator";
import { callsOf, expectSaga, IN, OUT, summary } from "./saga-helpers";

/** dtm's default message as dtm's HTTP body (the Go SDK's prepare: TransOut then TransIn, its keys). */
export function msgBody(rm: BranchServices, gid: string, extra: Record<string, unknown> = {}) {
  return {
    gid,
    trans_type: "msg",
    steps: [{ action: rm.url("TransOut") }, { action: rm.url("TransIn") }],
    payloads: [OUT, IN],
    query_prepared: rm.url("QueryPrepared"),
    concurrent: false,
    protocol: "",
    ...extra,
  };
}

/** What a test sees of an HTTP branch call of a message. */
function shape(call: BranchCall): Record<string, unknown> {
  return {
    transport: call.transport,
    path: call.path,
    method: call.method,
    gid: call.gid,
    transType: call.transType,
    branchId: call.branchId,
    op: call.op,
    body: call.body.toString(),
    contentType: call.headers["content-type"],
  };
}

/** An HTTP call of route `name` of the test branch services, as a message's pass makes it (§4.2). */
function expected(name: string, method: string, gid: string, branchId: string, op: string, body: string) {
  const path = `/api/busi/${name}`;
  return {
    transport: "http",
    path,
    method,
    gid,
    transType: "msg",
    branchId,
    op,
    body,
    contentType: "application/json",
  };
}

/** The check-back: GET `query_prepared` with no body, `branch_id=00`, `op=msg` (and gid, `trans_type=msg`). */
export function expectCheckBack(call: BranchCall, gid: string): void {
  expect(shape(call)).toEqual(expected("QueryPrepared", "GET", gid, "00", "msg", ""));
}

/** A step: POST with the step's payload, op `action`. */
export function expectStepCall(
  call: BranchCall,
  gid: string,
  name: string,
  branchId: string,
  body: string,
): void {
  expect(shape(call)).toEqual(expected(name, "POST", gid, branchId, "action", body));
}

/**
 * Scenario 39 after `prepare` (any face): check-back ONG → prepared; check-back OK with TransIn ONG×1 →
 * submitted [S,P]; the next look → succeed [S,S]. Resolves with the message's calls, in order.
 */
export async function checkBackSucceeds(
  dtx: TestCoordinator,
  rm: BranchServices,
  gid: string,
  prepare: () => Promise<unknown>,
): Promise<BranchCall[]> {
  rm.script("QueryPrepared", "ONG", "OK");
  rm.script("TransIn", "ONG");
  await prepare();
  await expectSaga(dtx, gid, "prepared", ["P", "P"]);
  expect(await dtx.cron({ forwardMs: 180_000 })).toContain(gid);
  await expectSaga(dtx, gid, "prepared", ["P", "P"]);
  expect(await dtx.cron({ forwardMs: 360_000 })).toContain(gid);
  await expectSaga(dtx, gid, "submitted", ["S", "P"]);
  // that pass wrote its next look in the shifted time: look from there
  expect(await dtx.cron({ forwardMs: 360_000 })).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["QueryPrepared", "msg", "00"],
    ["QueryPrepared", "msg", "00"],
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransIn", "action", "02"],
  ]);
  return calls;
}

/** Scenario 40 after `prepare`: check-back ONG → prepared; FAIL → failed [P,P], no step called. */
export async function checkBackFails(
  dtx: TestCoordinator,
  rm: BranchServices,
  gid: string,
  prepare: () => Promise<unknown>,
): Promise<void> {
  rm.script("QueryPrepared", "ONG", "FAIL");
  await prepare();
  expect(await dtx.cron({ forwardMs: 360_000 })).toContain(gid);
  await expectSaga(dtx, gid, "prepared", ["P", "P"]);
  expect(await dtx.cron({ forwardMs: 540_000 })).toContain(gid);
  await expectSaga(dtx, gid, "failed", ["P", "P"]);
  expect(summary(callsOf(rm, gid))).toEqual([
    ["QueryPrepared", "msg", "00"],
    ["QueryPrepared", "msg", "00"],
  ]);
}
