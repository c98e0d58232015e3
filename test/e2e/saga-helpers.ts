/**
 * Shared helpers of the saga end-to-end tests (scenarios 1–23 of §10.3 of the dtm protocol spec).
 * Not a test file: imported by saga*.test.ts.
 */
import { randomBytes } from "node:crypto";
import type { BranchCall, BranchServices } from "../support/branch-services";
import type { TestCoordinator } from "../support/coordinator";

/** A gid no other test uses. */
export function freshGid(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

/** The calls one transaction made, in arrival order (other tests' late calls are ignored). */
export function callsOf(rm: BranchServices, gid: string): BranchCall[] {
  return rm.calls().filter((c) => c.gid === gid);
}

/** `[route name, op, branch_id]` of each call: the shape sequences are asserted in. */
export function summary(calls: BranchCall[]): Array<[string, string, string]> {
  return calls.map((c) => [c.path.slice(c.path.lastIndexOf("/") + 1), c.op, c.branchId]);
}

/** `summary` sorted, for calls whose order is racy. */
export function summarySet(calls: BranchCall[]): Array<[string, string, string]> {
  return summary(calls).sort((a, b) => a.join(" ").localeCompare(b.join(" ")));
}

/**
 * Every call is an HTTP saga branch call of `gid` as §4.2 describes it: POST to `/api/busi/<name>` with the
 * query parameters, `content-type: application/json`, the step's payload as body, and `headers` (if given).
 */
export function expectHttpBranchCalls(
  calls: BranchCall[],
  gid: string,
  payloadOf: (name: string) => string,
  headers: Record<string, string> = {},
): void {
  for (const c of calls) {
    const name = c.path.slice(c.path.lastIndexOf("/") + 1);
    expect({
      transport: c.transport,
      path: c.path,
      method: c.method,
      gid: c.gid,
      transType: c.transType,
      contentType: c.headers["content-type"],
      body: c.body.toString(),
    }).toEqual({
      transport: "http",
      path: `/api/busi/${name}`,
      method: "POST",
      gid,
      transType: "saga",
      contentType: "application/json",
      body: payloadOf(name),
    });
    expect(["action", "compensate"]).toContain(c.op);
    for (const [k, v] of Object.entries(headers)) expect(c.headers[k.toLowerCase()]).toBe(v);
  }
}

/**
 * Every call is a gRPC saga branch call of `gid` as §4.4 describes it: `/busi.Busi/<name>`, the payload bytes
 * as the message, `dtm-*` metadata matching the call, and `headers` as metadata (if given).
 */
export function expectGrpcBranchCalls(
  calls: BranchCall[],
  gid: string,
  payloadOf: (name: string) => Uint8Array,
  headers: Record<string, string> = {},
): void {
  for (const c of calls) {
    const name = c.path.slice(c.path.lastIndexOf("/") + 1);
    expect({
      transport: c.transport,
      path: c.path,
      method: c.method,
      gid: c.headers["dtm-gid"],
      transType: c.headers["dtm-trans_type"],
      body: Buffer.from(c.body).toString("hex"),
    }).toEqual({
      transport: "grpc",
      path: `/busi.Busi/${name}`,
      method: "POST",
      gid,
      transType: "saga",
      body: Buffer.from(payloadOf(name)).toString("hex"),
    });
    expect(["action", "compensate"]).toContain(c.op);
    for (const [k, v] of Object.entries(headers)) expect(c.headers[k.toLowerCase()]).toBe(v);
  }
}

/**
 * Drops answers a test scripted but the coordinator never asked for, so that a failing test cannot hand its
 * leftovers to the next one. Uses the branch services' private queue map when present; no-op otherwise.
 */
export function dropLeftoverScripts(rm: BranchServices): void {
  const queues = (rm as unknown as { queues?: unknown }).queues;
  if (queues instanceof Map) queues.clear();
}

/** The stored status of `gid` and its branch status vector (P/S/F in storage order). */
export async function expectSaga(
  dtx: TestCoordinator,
  gid: string,
  status: string,
  vector: string[],
): Promise<void> {
  expect({ status: await dtx.status(gid), branches: await dtx.branchVector(gid) }).toEqual({
    status,
    branches: vector,
  });
}

/** The HTTP saga payloads: TransOut's and TransIn's (the Revert routes get their step's). */
export const OUT = '{"amount":30,"user":1}';
export const IN = '{"amount":30,"user":2}';
export const payloadOf = (name: string): string => (name.startsWith("TransOut") ? OUT : IN);

/** What dtm's submit answers on success. */
export const OK = { status: 200, body: { dtm_result: "SUCCESS" } };

/** dtm's default saga as dtm's HTTP body: TransOut/TransOutRevert, TransIn/TransInRevert. */
export function transferBody(rm: BranchServices, gid: string, extra: Record<string, unknown> = {}) {
  return {
    gid,
    trans_type: "saga",
    steps: [
      { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
      { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
    ],
    payloads: [OUT, IN],
    ...extra,
  };
}

/**
 * The transaction failed because the RM refused a branch (its FAIL answer says "Insufficient
 * balance"): status failed, that reason stored, and the branch statuses `vector`.
 */
export async function expectRefused(dtx: TestCoordinator, gid: string, vector: string[]): Promise<void> {
  const { transaction } = await dtx.query(gid);
  expect({
    status: transaction.status,
    reason: transaction.rollback_reason,
    branches: await dtx.branchVector(gid),
  }).toEqual({ status: "failed", reason: expect.stringContaining("Insufficient balance"), branches: vector });
}
