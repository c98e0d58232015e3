/**
 * Shared helpers of the 2-phase message end-to-end tests (scenarios 38–52 of §10.3 of the dtm protocol
 * spec). Not a test file: imported by msg*.test.ts.
 */
import type { BranchCall, BranchServices } from "../support/branch-services";
import { IN, OUT } from "./saga-helpers";

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
