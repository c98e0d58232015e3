/**
 * `branch_headers` the transport callers cannot send are refused at submit, naming the header, and
 * nothing is written: accepted, they would make every branch call fail and the transaction retry
 * forever. The HTTP rules (undici's) apply to every transaction; the gRPC rules (grpc-js metadata and
 * HTTP/2 connection headers) to a transaction whose protocol is grpc.
 */
import { create } from "@bufbuild/protobuf";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Dtm, DtmRequestSchema } from "../../gen/dtmgimp/dtmgimp_pb";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { Protocol, TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { failureOf } from "../support/failure-of";

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;
let dtmGrpc: Client<typeof Dtm>;
let native: Client<typeof CoordinatorService>;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  sessions = new Http2SessionManager(dtx.base);
  const transport = createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions });
  dtmGrpc = createClient(Dtm, transport);
  native = createClient(CoordinatorService, transport);
});
afterAll(async () => {
  sessions?.abort();
  await rm?.close();
  await dtx?.close();
});
beforeEach(async () => {
  await dtx.settled(); // a case the coordinator wrongly accepted must not leak calls into the next
  rm.clearCalls();
});

/** Nothing was stored for `gid` and no branch was called. */
async function expectNothingWritten(gid: string): Promise<void> {
  expect((await dtx.query(gid)).transaction).toBeNull();
  expect(rm.calls()).toEqual([]);
}

function httpSaga(gid: string, headers: Record<string, string>) {
  return {
    gid,
    trans_type: "saga",
    steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
    payloads: ['{"amount":1}'],
    branch_headers: headers,
  };
}

describe("dtm HTTP submit (protocol http): undici's rules", () => {
  test.each([
    ["expect", "100-continue"],
    ["Transfer-Encoding", "chunked"],
    ["upgrade", "websocket"],
    ["content-length", "5"],
    ["connection", "close"],
    ["keep-alive", "timeout=5"],
  ])("%s → 400 naming the header", async (name, value) => {
    const gid = `bh-http-${name.toLowerCase()}`;
    const res = await dtx.post("/api/dtmsvr/submit", httpSaga(gid, { [name]: value }));
    expect(res.status).toBe(400);
    expect(res.body.dtm_result).toBe("FAILURE");
    expect(res.body.message).toContain(`branch_headers.${name}`);
    await expectNothingWritten(gid);
  });

  test("a value with a character beyond Latin-1 → 400 naming the header", async () => {
    const res = await dtx.post("/api/dtmsvr/submit", httpSaga("bh-http-euro", { "x-price": "5 €" }));
    expect(res.status).toBe(400);
    expect(res.body.message).toContain("branch_headers.x-price");
    await expectNothingWritten("bh-http-euro");
  });

  test("headers both transports carry are accepted and sent", async () => {
    const headers = { "x-trace_id": "abc.1", "X!Odd": "Grüße" };
    const res = await dtx.post("/api/dtmsvr/submit", {
      ...httpSaga("bh-http-ok", headers),
      wait_result: true,
    });
    expect(res).toEqual({ status: 200, body: { dtm_result: "SUCCESS" } });
    const [call] = rm.calls();
    expect(call!.headers["x-trace_id"]).toBe("abc.1");
    expect(call!.headers["x!odd"]).toBe("Grüße");
  });
});

describe("protocol grpc: grpc-js's metadata rules as well", () => {
  const grpcRequest = (gid: string, headers: Record<string, string>) =>
    create(DtmRequestSchema, {
      Gid: gid,
      TransType: "saga",
      Steps: JSON.stringify([{ action: rm.grpcUrl("TransOut"), compensate: rm.grpcUrl("TransOutRevert") }]),
      BinPayloads: [new Uint8Array([1])],
      TransOptions: { BranchHeaders: headers },
    });

  test.each([
    ["x!y", "a"],
    ["x-token-bin", "a"],
    ["x y", "a"],
    ["http2-settings", "a"],
    ["x-note", "tab\tinside"],
  ])("dtm gRPC Submit with %s → INVALID_ARGUMENT naming the header", async (name, value) => {
    const gid = `bh-grpc-${Buffer.from(name).toString("hex")}`;
    const err = await failureOf(dtmGrpc.submit(grpcRequest(gid, { [name]: value })));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(`TransOptions.BranchHeaders.${name}`);
    await expectNothingWritten(gid);
  });

  test("native SubmitSaga with PROTOCOL_GRPC and a -bin header → INVALID_ARGUMENT naming it", async () => {
    const err = await failureOf(
      native.submitSaga({
        gid: "bh-native-bin",
        protocol: Protocol.GRPC,
        saga: { steps: [{ action: rm.grpcUrl("TransOut"), payload: new Uint8Array([1]) }] },
        options: { branchHeaders: { "trace-bin": "x" } },
      }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("options.branch_headers.trace-bin");
    await expectNothingWritten("bh-native-bin");
  });

  test("the same header with protocol http is accepted (only HTTP carries it)", async () => {
    const res = await native.submitSaga({
      gid: "bh-native-http",
      saga: { steps: [{ action: rm.url("TransOut"), payload: new Uint8Array([1]) }] },
      options: { branchHeaders: { "x!y": "a" }, waitResult: true },
    });
    expect(res.status).toBe(TransactionStatus.SUCCEED);
    expect(rm.calls()[0]!.headers["x!y"]).toBe("a");
  });
});
