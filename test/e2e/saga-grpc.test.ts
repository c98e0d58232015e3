/**
 * Saga end-to-end over gRPC: the gRPC variants of scenarios 1, 3, 4, 6, 11, 13, 14, 17, 18 and 19 of §10.3
 * (dtm's saga_grpc_test.go). The saga is submitted through dtm's `dtmgimp.Dtm/Submit` and the coordinator calls
 * the branches over gRPC at scheme-less `host:port/busi.Busi/<Method>` URLs, with the payload bytes as the
 * message and `dtm-*` metadata.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import {
  expectRefused,
  callsOf,
  dropLeftoverScripts,
  expectGrpcBranchCalls,
  freshGid,
  summary,
  summarySet,
  expectSaga,
} from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let dtm: Client<typeof Dtm>;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  dtm = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base }));
  // scenario 14: this method answers INTERNAL unless the metadata is present
  rm.requireHeader("TransOutHeaderYes", "test_header", "test");
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

// protobuf-encoded busi requests (amount 30, user 1 / 2), as a gRPC AP would send them
const OUT = Uint8Array.from([0x08, 0x1e, 0x10, 0x01]);
const IN = Uint8Array.from([0x08, 0x1e, 0x10, 0x02]);
const payloadOf = (name: string): Uint8Array => (name.startsWith("TransOut") ? OUT : IN);

interface Opts {
  WaitResult?: boolean;
  RequestTimeout?: bigint;
  BranchHeaders?: Record<string, string>;
}

function steps(action1 = "TransOut"): Array<Record<string, string>> {
  return [
    { action: rm.grpcUrl(action1), compensate: rm.grpcUrl("TransOutRevert") },
    { action: rm.grpcUrl("TransIn"), compensate: rm.grpcUrl("TransInRevert") },
  ];
}

function submit(
  gid: string,
  opts: Opts = {},
  stepList = steps(),
  customData = "",
  payloads: Uint8Array[] = [OUT, IN],
) {
  return dtm.submit({
    Gid: gid,
    TransType: "saga",
    Steps: JSON.stringify(stepList),
    BinPayloads: payloads,
    CustomedData: customData,
    TransOptions: opts,
  });
}

test("gRPC 1: all OK → succeed, [P,S,P,S]", async () => {
  const { Gid: gid } = await dtm.newGid({});
  expect(gid).not.toBe("");

  await submit(gid);
  await dtx.settled(gid);
  const { transaction } = await dtx.query(gid);
  expect(transaction).toMatchObject({ gid, trans_type: "saga", status: "succeed", protocol: "grpc" });
  expect(transaction.rollback_reason).toBeUndefined();
  expect(await dtx.branchVector(gid)).toEqual(["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});

test("gRPC 3: TransOut ONG×1 → submitted, [P,P,P,P]; cron(0) → succeed, [P,S,P,S]", async () => {
  const gid = freshGid("grpc-ongoing");
  rm.script("TransOut", "ONG");

  await submit(gid);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "submitted", ["P", "P", "P", "P"]);

  expect(await dtx.cron()).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});

test("gRPC 4: TransIn FAIL, TransOutRevert ONG×1 → aborting; cron(0) → failed, [S,S,S,F]", async () => {
  const gid = freshGid("grpc-rollback");
  rm.script("TransIn", "FAIL");
  rm.script("TransOutRevert", "ONG");

  await submit(gid);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "aborting", ["P", "S", "S", "F"]);

  expect(await dtx.cron()).toContain(gid);
  await expectRefused(dtx, gid, ["S", "S", "S", "F"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransInRevert", "compensate", "02"],
    ["TransOutRevert", "compensate", "01"],
    ["TransOutRevert", "compensate", "01"],
  ]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});

test("gRPC 6: an empty action with a compensate URL succeeds without a call", async () => {
  const gid = freshGid("grpc-empty-url");
  const list = steps();
  list[1] = { action: "", compensate: rm.grpcUrl("TransInRevert") };

  await submit(gid, {}, list);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([["TransOut", "action", "01"]]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});

test("gRPC 11: WaitResult, all OK → OK and already succeed", async () => {
  const gid = freshGid("grpc-wait-ok");

  await expect(submit(gid, { WaitResult: true })).resolves.toBeDefined();
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});

test("gRPC 13: WaitResult, TransIn FAIL → Aborted carrying the reason; failed, [S,S,S,F]", async () => {
  const gid = freshGid("grpc-wait-rollback");
  rm.script("TransIn", "FAIL");

  const err = await submit(gid, { WaitResult: true }).then(
    () => null,
    (e: unknown) => ConnectError.from(e),
  );
  expect(err).not.toBeNull();
  expect(err!.code).toBe(Code.Aborted);
  expect(err!.rawMessage).toContain("Insufficient balance");
  await expectRefused(dtx, gid, ["S", "S", "S", "F"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransInRevert", "compensate", "02"],
    ["TransOutRevert", "compensate", "01"],
  ]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});

describe("gRPC 14: BranchHeaders as metadata", () => {
  const headers = { test_header: "test" };

  test("the method requiring the metadata is satisfied → succeed; every call carries it", async () => {
    const gid = freshGid("grpc-headers");

    await submit(gid, { BranchHeaders: headers }, steps("TransOutHeaderYes"));
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
    const calls = callsOf(rm, gid);
    expect(summary(calls)).toEqual([
      ["TransOutHeaderYes", "action", "01"],
      ["TransIn", "action", "02"],
    ]);
    expectGrpcBranchCalls(calls, gid, payloadOf, headers);
  });

  test("action ONG×1 then cron(0): the metadata is re-sent from the stored options → succeed", async () => {
    const gid = freshGid("grpc-headers-cron");
    rm.script("TransOutHeaderYes", "ONG");

    await submit(gid, { BranchHeaders: headers }, steps("TransOutHeaderYes"));
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
    expectGrpcBranchCalls(calls, gid, payloadOf, headers);
  });
});

test("gRPC 17: RequestTimeout=6, WaitResult, one step → OK", async () => {
  const gid = freshGid("grpc-request-timeout");

  await expect(
    submit(gid, { WaitResult: true, RequestTimeout: 6n }, steps().slice(0, 1), "", [OUT]),
  ).resolves.toBeDefined();
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("succeed");
  expect(JSON.parse(transaction.options)).toMatchObject({ request_timeout: 6, wait_result: true });
  expect(await dtx.branchVector(gid)).toEqual(["P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([["TransOut", "action", "01"]]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});

test("gRPC 18: concurrent, no orders, all OK → succeed, [P,S,P,S]", async () => {
  const gid = freshGid("grpc-con");

  await submit(gid, {}, steps(), JSON.stringify({ concurrent: true }));
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summarySet(calls)).toEqual([
    ["TransIn", "action", "02"],
    ["TransOut", "action", "01"],
  ]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});

test('gRPC 19: concurrent, orders {"1":[0]}, all OK → succeed; TransIn only after TransOut', async () => {
  const gid = freshGid("grpc-con-order");

  await submit(gid, {}, steps(), JSON.stringify({ concurrent: true, orders: { "1": [0] } }));
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  expectGrpcBranchCalls(calls, gid, payloadOf);
});
