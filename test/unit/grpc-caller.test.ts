/**
 * The gRPC branch caller (node:http2, no grpc-js client) against a real grpc-js server: what the branch
 * receives, and how each answer — or its absence — is classified, as grpc-js's client reported it.
 */
import * as net from "node:net";
import type { BranchRequest } from "../../src/core/branch-caller";
import { GrpcCaller } from "../../src/branch/grpc-caller";
import { BranchServices } from "../support/branch-services";

let rm: BranchServices;
const caller = new GrpcCaller();

beforeAll(async () => {
  rm = await BranchServices.start();
});
afterAll(async () => {
  await caller.close();
  await rm.close();
});
beforeEach(() => rm.clearCalls());

function request(url: string, extra: Partial<BranchRequest> = {}): BranchRequest {
  return {
    url,
    gid: "g-grpc-caller",
    transType: "saga",
    branchId: "01",
    op: "action",
    payload: Buffer.from([0x08, 0x1e]),
    headers: {},
    timeoutMs: 3000,
    ...extra,
  };
}

test("the branch receives the payload byte for byte, dtm's metadata and the branch headers", async () => {
  const payload = Buffer.from([0, 1, 2, 0xff, 0x10]);
  const result = await caller.call(
    request(rm.grpcUrl("TransOut"), { payload, headers: { "X-Tenant": "t1" } }),
  );
  expect(result).toEqual({ outcome: "SUCCESS", detail: "", code: "OK" });
  const [call] = rm.callsTo("TransOut");
  expect(call!.path).toBe("/busi.Busi/TransOut");
  expect(call!.body).toEqual(payload);
  expect(call!.headers).toMatchObject({
    "dtm-gid": "g-grpc-caller",
    "dtm-trans_type": "saga",
    "dtm-branch_id": "01",
    "dtm-op": "action",
    "x-tenant": "t1",
  });
});

test("a large payload arrives whole", async () => {
  const payload = Buffer.alloc(300 * 1024, 7);
  expect((await caller.call(request(rm.grpcUrl("TransIn"), { payload }))).outcome).toBe("SUCCESS");
  expect(rm.callsTo("TransIn")[0]!.body).toEqual(payload);
});

test("ABORTED is FAILURE, FAILED_PRECONDITION and ABORTED 'ONGOING' are ONGOING, other codes ERROR", async () => {
  rm.script(
    "TransOut",
    "FAIL",
    "ONG",
    { status: 200, body: "", grpc: { code: 10, details: "ONGOING" } },
    { status: 200, body: "", grpc: { code: 13, details: "disk full: 100% used" } },
  );
  const outcomes = [];
  for (let i = 0; i < 4; i++) {
    const r = await caller.call(request(rm.grpcUrl("TransOut")));
    outcomes.push([r.outcome, r.code]);
    if (i === 3) expect(r.detail).toBe("disk full: 100% used"); // grpc-message is percent-decoded
  }
  expect(outcomes).toEqual([
    ["FAILURE", "ABORTED"],
    ["ONGOING", "FAILED_PRECONDITION"],
    ["ONGOING", "ABORTED"],
    ["ERROR", "INTERNAL"],
  ]);
});

test("no answer within the timeout is DEADLINE_EXCEEDED", async () => {
  rm.script("TransOutConfirm", "HANG");
  const r = await caller.call(request(rm.grpcUrl("TransOutConfirm"), { timeoutMs: 300 }));
  expect([r.outcome, r.code]).toEqual(["ERROR", "DEADLINE_EXCEEDED"]);
});

test("a target nobody listens on is UNAVAILABLE; a bad URL is an error naming it", async () => {
  const free = net.createServer();
  await new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve));
  const port = (free.address() as net.AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  const r = await caller.call(request(`127.0.0.1:${port}/busi.Busi/TransOut`));
  expect([r.outcome, r.code]).toEqual(["ERROR", "UNAVAILABLE"]);
  expect(r.detail).toMatch(/ECONNREFUSED/);
  expect(await caller.call(request("http://x/busi.Busi/TransOut"))).toEqual({
    outcome: "ERROR",
    detail: 'bad grpc branch url "http://x/busi.Busi/TransOut"',
  });
});

test("a host name is resolved, and calls go to the address that listens", async () => {
  const url = rm.grpcUrl("TransIn").replace("127.0.0.1", "localhost");
  const results = [];
  for (let i = 0; i < 4; i++) results.push((await caller.call(request(url))).outcome);
  expect(results).toEqual(["SUCCESS", "SUCCESS", "SUCCESS", "SUCCESS"]);
  expect(rm.callsTo("TransIn")).toHaveLength(4);
});

test("after close, calls are refused without reaching the branch", async () => {
  const closing = new GrpcCaller();
  expect((await closing.call(request(rm.grpcUrl("TransOut")))).outcome).toBe("SUCCESS");
  await closing.close();
  expect(await closing.call(request(rm.grpcUrl("TransOut")))).toEqual({
    outcome: "ERROR",
    detail: "the coordinator is stopping",
  });
  expect(rm.callsTo("TransOut")).toHaveLength(1);
});

test("a branch header HTTP/2 or gRPC metadata cannot carry is an error naming it; the branch is not called", async () => {
  const refused: Array<Record<string, string>> = [
    { "Transfer-Encoding": "chunked" },
    { connection: "close" },
    { "x-trace-bin": "AAEC" },
    { "x-tenant": "t\u00e9" },
  ];
  for (const headers of refused) {
    const r = await caller.call(request(rm.grpcUrl("TransOut"), { headers }));
    expect(r.outcome).toBe("ERROR");
    expect(r.detail).toContain(`branch header ${JSON.stringify(Object.keys(headers)[0])}`);
  }
  expect(rm.callsTo("TransOut")).toHaveLength(0);
  // the caller still works afterwards
  expect((await caller.call(request(rm.grpcUrl("TransOut")))).outcome).toBe("SUCCESS");
});
