/**
 * 2-phase messages over dtm's gRPC API (`dtmgimp.Dtm` Prepare / Submit / Abort; dtm's
 * msg_grpc_test.go): scenarios 39, 40, 42 and 50's gRPC variants, the check-back and the steps called
 * over gRPC with the payload bytes exactly as the AP sent them, topic fan-out to gRPC subscribers.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { BranchServices, type BranchCall } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { checkBackFails, checkBackSucceeds } from "./msg-helpers";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let dtm: Client<typeof Dtm>;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  dtm = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base }));
  for (const name of ["TransOut", "TransIn"])
    await dtm.subscribe({ Topic: "grpc_trans", URL: rm.grpcUrl(name) });
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

// protobuf-encoded busi requests as a gRPC AP sends them; 0x00 and 0xff bytes must arrive untouched
const OUT = Uint8Array.from([0x08, 0x1e, 0x10, 0x01, 0x00, 0xff]);
const IN = Uint8Array.from([0x08, 0x1e, 0x10, 0x02]);

/** What a test changes of the request. */
interface Over {
  Steps?: string;
  BinPayloads?: Uint8Array[];
  QueryPrepared?: string;
  CustomedData?: string;
  TransOptions?: { WaitResult?: boolean };
}

/** The Go SDK's msg DtmRequest: Steps as JSON text, BinPayloads, QueryPrepared, TransOptions. */
function msgRequest(gid: string, over: Over = {}) {
  return {
    Gid: gid,
    TransType: "msg",
    Steps: JSON.stringify([{ action: rm.grpcUrl("TransOut") }, { action: rm.grpcUrl("TransIn") }]),
    BinPayloads: [OUT, IN],
    QueryPrepared: rm.grpcUrl("QueryPrepared"),
    TransOptions: {},
    ...over,
  };
}

/** A gRPC branch call of the message: the method, `dtm-*` metadata and the message bytes. */
function grpcCall(c: BranchCall) {
  return {
    transport: c.transport,
    path: c.path,
    gid: c.headers["dtm-gid"],
    transType: c.headers["dtm-trans_type"],
    branchId: c.headers["dtm-branch_id"],
    op: c.headers["dtm-op"],
    body: Buffer.from(c.body).toString("hex"),
  };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");

async function grpcError(p: Promise<unknown>): Promise<[string, string]> {
  try {
    await p;
  } catch (err) {
    const e = ConnectError.from(err);
    return [Code[e.code], e.rawMessage];
  }
  throw new Error("expected the call to fail");
}

test("50 (gRPC): Prepare, Submit → succeed [S,S]; each step called over gRPC with its bytes", async () => {
  const gid = freshGid("grpc-msg");
  await dtm.prepare(msgRequest(gid));
  await expectSaga(dtx, gid, "prepared", ["P", "P"]);
  await dtm.submit(msgRequest(gid, { TransOptions: { WaitResult: true } }));
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  expect((await dtx.query(gid)).transaction.protocol).toBe("grpc");
  expect(callsOf(rm, gid).map(grpcCall)).toEqual([
    {
      transport: "grpc",
      path: "/busi.Busi/TransOut",
      gid,
      transType: "msg",
      branchId: "01",
      op: "action",
      body: hex(OUT),
    },
    {
      transport: "grpc",
      path: "/busi.Busi/TransIn",
      gid,
      transType: "msg",
      branchId: "02",
      op: "action",
      body: hex(IN),
    },
  ]);
});

test("39 (gRPC): check-back ONG → prepared; OK, TransIn ONG×1 → submitted [S,P]; the next look → succeed", async () => {
  const gid = freshGid("grpc-msg-timeout-ok");
  const calls = await checkBackSucceeds(dtx, rm, gid, () => dtm.prepare(msgRequest(gid)));
  // the check-back: an empty message, dtm-* metadata
  expect(grpcCall(calls[0]!)).toEqual({
    transport: "grpc",
    path: "/busi.Busi/QueryPrepared",
    gid,
    transType: "msg",
    branchId: "00",
    op: "msg",
    body: "",
  });
});

test("40 (gRPC): check-back ONG → prepared; ABORTED (FAILURE) → failed [P,P], no step called", async () => {
  const gid = freshGid("grpc-msg-timeout-fail");
  await checkBackFails(dtx, rm, gid, () => dtm.prepare(msgRequest(gid)));
});

test("Abort of a prepared message → failed, nothing called; Abort again → ABORTED with dtm's text", async () => {
  const gid = freshGid("grpc-msg-abort");
  await dtm.prepare(msgRequest(gid));
  await dtm.abort(msgRequest(gid));
  await expectSaga(dtx, gid, "failed", ["P", "P"]);
  expect(await grpcError(dtm.abort(msgRequest(gid)))).toEqual([
    "Aborted",
    "trans type: 'msg' current status 'failed', cannot abort",
  ]);
  expect(callsOf(rm, gid)).toEqual([]);
});

test("topic://grpc_trans fans out to the gRPC subscribers (01-01, 01-02); CustomedData delay holds delivery", async () => {
  const gid = freshGid("grpc-msg-topic");
  await dtm.submit(
    msgRequest(gid, {
      Steps: JSON.stringify([{ action: "topic://grpc_trans" }]),
      BinPayloads: [OUT],
      CustomedData: '{"delay":5}',
    }),
  );
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "submitted", ["P", "P"]);
  expect((await dtx.query(gid)).transaction.custom_data).toBe('{"delay":5}');
  expect(await dtx.cron({ forwardMs: 6_000, lookAheadMs: 0 })).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  expect(callsOf(rm, gid).map((c) => [grpcCall(c).path, grpcCall(c).branchId, grpcCall(c).body])).toEqual([
    ["/busi.Busi/TransOut", "01-01", hex(OUT)],
    ["/busi.Busi/TransIn", "01-02", hex(OUT)],
  ]);
});

test("42 (gRPC) and bad input: INVALID_ARGUMENT in DtmRequest's names, nothing written", async () => {
  const gid = freshGid("grpc-msg-bad");
  expect(
    await grpcError(
      dtm.submit(
        msgRequest(gid, { Steps: JSON.stringify([{ action: "topic://nope" }]), BinPayloads: [OUT] }),
      ),
    ),
  ).toEqual(["InvalidArgument", 'Steps[0].action: topic not found: "nope" has no subscribers']);
  expect(await grpcError(dtm.prepare(msgRequest(gid, { QueryPrepared: "" })))).toEqual([
    "InvalidArgument",
    "QueryPrepared: is required to prepare a message: it is asked whether to send it",
  ]);
  expect(await grpcError(dtm.submit(msgRequest(gid, { BinPayloads: [OUT] })))).toEqual([
    "InvalidArgument",
    "BinPayloads: has 1 entries for 2 steps",
  ]);
  expect(await grpcError(dtm.submit(msgRequest(gid, { CustomedData: '{"delay":"soon"}' })))).toEqual([
    "InvalidArgument",
    'CustomedData.delay: must be a non-negative integer of seconds, not "soon"',
  ]);
  expect(await dtx.query(gid)).toEqual({ transaction: null, branches: [] });
});
