/**
 * Large messages over gRPC: a saga whose payloads are ~300 KB each (a message up to server.maxBodyBytes)
 * travels over dtm's gRPC API, the native gRPC API and to gRPC branches as it does over HTTP, byte for
 * byte; a message over the limit is refused RESOURCE_EXHAUSTED naming the limit and its setting, and
 * nothing is written.
 */
import { randomBytes } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { DtmRequestSchema } from "../../gen/dtmgimp/dtmgimp_pb";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { Protocol, TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { GrpcChannels } from "../../src/client/grpc-channels";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { failureOf } from "../support/failure-of";

const MAX_BODY = 1_048_576;
const BIG = 300 * 1024;

let dtx: TestCoordinator;
let rm: BranchServices;
let channels: GrpcChannels;
let sessions: Http2SessionManager;
let native: Client<typeof CoordinatorService>;

beforeAll(async () => {
  dtx = await TestCoordinator.start({
    server: { maxBodyBytes: MAX_BODY },
    limits: { maxPayloadBytes: 512 * 1024 },
  });
  rm = await BranchServices.start();
  channels = new GrpcChannels();
  sessions = new Http2SessionManager(dtx.base);
  native = createClient(
    CoordinatorService,
    createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }),
  );
});
afterAll(async () => {
  await channels?.close();
  sessions?.abort();
  await rm?.close();
  await dtx?.close();
});
beforeEach(() => rm.clearCalls());

/** dtm's Submit as a dtm gRPC client sends it (grpc-js, one channel), with `payloads` for TransOut and TransIn. */
function dtmSubmit(gid: string, payloads: Buffer[]) {
  const names = ["TransOut", "TransIn"];
  const message = toBinary(
    DtmRequestSchema,
    create(DtmRequestSchema, {
      Gid: gid,
      TransType: "saga",
      Steps: JSON.stringify(
        payloads.map((_, i) => ({
          action: rm.grpcUrl(names[i]!),
          compensate: rm.grpcUrl(`${names[i]}Revert`),
        })),
      ),
      BinPayloads: payloads,
      TransOptions: { WaitResult: true },
    }),
  );
  return channels.call(dtx.grpcTarget, "/dtmgimp.Dtm/Submit", message, {}, 20_000);
}

test("dtm gRPC: two 300 KB payloads reach the gRPC branches byte for byte, as over HTTP", async () => {
  const payloads = [randomBytes(BIG), randomBytes(BIG)];
  expect(await dtmSubmit("big-dtm-grpc", payloads)).toEqual({ ok: true, reply: new Uint8Array(0) });
  expect(await dtx.status("big-dtm-grpc")).toBe("succeed");
  const calls = rm.calls();
  expect(calls.map((c) => [c.transport, c.path])).toEqual([
    ["grpc", "/busi.Busi/TransOut"],
    ["grpc", "/busi.Busi/TransIn"],
  ]);
  expect(calls.map((c) => c.body)).toEqual(payloads);

  // the same saga over dtm's HTTP API
  const text = "x".repeat(BIG);
  const res = await dtx.post("/api/dtmsvr/submit", {
    gid: "big-dtm-http",
    trans_type: "saga",
    steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
    payloads: [text],
    wait_result: true,
  });
  expect(res).toEqual({ status: 200, body: { dtm_result: "SUCCESS" } });
  expect(rm.callsTo("TransOut").at(-1)!.body.toString()).toBe(text);
});

test("native gRPC: a 300 KB payload goes to a gRPC branch and comes back in GetTransaction", async () => {
  const payload = randomBytes(BIG);
  const res = await native.submitSaga({
    gid: "big-native",
    saga: {
      steps: [{ action: rm.grpcUrl("TransOut"), compensate: rm.grpcUrl("TransOutRevert"), payload }],
    },
    options: { waitResult: true },
    protocol: Protocol.GRPC,
  });
  expect(res.status).toBe(TransactionStatus.SUCCEED);
  expect(rm.calls().map((c) => c.body)).toEqual([payload]);
  const { transaction } = await native.getTransaction({ gid: "big-native" });
  expect(Buffer.from(transaction!.branches[0]!.payload)).toEqual(payload);
});

describe("a message over server.maxBodyBytes", () => {
  const limit = `larger than the limit of ${MAX_BODY} bytes (server.maxBodyBytes)`;

  test("dtm gRPC: RESOURCE_EXHAUSTED naming the limit, nothing written", async () => {
    const payloads = [randomBytes(BIG), randomBytes(MAX_BODY)];
    const answer = await dtmSubmit("big-dtm-over", payloads);
    expect(answer).toMatchObject({ ok: false, code: "RESOURCE_EXHAUSTED" });
    const message = (answer as { message: string }).message;
    expect(message).toMatch(
      /^request: is \d+ bytes, larger than the limit of 1048576 bytes \(server.maxBodyBytes\)$/,
    );
    expect(Number(/is (\d+) bytes/.exec(message)![1])).toBeGreaterThan(BIG + MAX_BODY);
    expect((await dtx.query("big-dtm-over")).transaction).toBeNull();
    expect(rm.calls()).toEqual([]);
  });

  test("native gRPC and Connect: RESOURCE_EXHAUSTED naming the limit, nothing written", async () => {
    const steps = [{ action: rm.grpcUrl("TransOut"), compensate: "", payload: randomBytes(MAX_BODY + 1) }];
    const request = { gid: "big-native-over", saga: { steps }, protocol: Protocol.GRPC };
    const overGrpc = await failureOf(native.submitSaga(request));
    expect(overGrpc.code).toBe(Code.ResourceExhausted);
    const size = Number(/^request: is (\d+) bytes, /.exec(overGrpc.rawMessage)?.[1]);
    expect(size).toBeGreaterThan(MAX_BODY);
    expect(overGrpc.rawMessage).toBe(`request: is ${size} bytes, ${limit}`);
    const connect = createClient(
      CoordinatorService,
      createConnectTransport({ baseUrl: dtx.base, httpVersion: "1.1", useBinaryFormat: true }),
    );
    // a Connect client sends the body without a size up front
    const overConnect = await failureOf(connect.submitSaga(request));
    expect(overConnect.code).toBe(Code.ResourceExhausted);
    expect(overConnect.rawMessage).toBe(`request: is ${limit}`);
    expect((await dtx.query("big-native-over")).transaction).toBeNull();
    expect(rm.calls()).toEqual([]);
  });
});
