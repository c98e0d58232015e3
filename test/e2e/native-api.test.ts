/**
 * The native API (`dtx.v1.CoordinatorService`) end to end: over gRPC, over Connect JSON, and over
 * REST the way a curl user calls it, against a real coordinator and real branch services.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { request } from "undici";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import {
  BranchStatus,
  Protocol,
  TransactionKind,
  TransactionStatus,
  type Transaction,
} from "../../gen/dtx/v1/types_pb";
import { SagaBranchServiceActionRequestSchema } from "../../gen/dtx/v1/branch_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { failureOf } from "../support/failure-of";

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;
let grpc: Client<typeof CoordinatorService>;
let connect: Client<typeof CoordinatorService>;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  sessions = new Http2SessionManager(dtx.base);
  grpc = createClient(
    CoordinatorService,
    createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }),
  );
  connect = createClient(
    CoordinatorService,
    createConnectTransport({ baseUrl: dtx.base, httpVersion: "1.1" }),
  );
});
afterAll(async () => {
  sessions?.abort();
  await rm?.close();
  await dtx?.close();
});
beforeEach(() => rm.clearCalls());

/** A REST call as curl makes it: JSON text in, status and parsed JSON out. */
async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(dtx.base + path, {
    method: method as "GET",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

const b64 = (b: Uint8Array | string) => Buffer.from(b).toString("base64");

function steps(payloads: Uint8Array[]) {
  const names = ["TransOut", "TransIn"];
  return payloads.map((payload, i) => ({
    action: rm.url(names[i]!),
    compensate: rm.url(`${names[i]}Revert`),
    payload,
  }));
}

const P1 = new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d]); // {"a":1}
const P2 = new Uint8Array([0x00, 0xff, 0x10, 0x80, 0x7f]); // not UTF-8: must travel as bytes

describe("NewGid", () => {
  test("gRPC, Connect and REST each return a fresh non-empty gid", async () => {
    const a = (await grpc.newGid({})).gid;
    const b = (await connect.newGid({})).gid;
    const r = await rest("POST", "/v1/gids", {});
    expect(r.status).toBe(200);
    const c = r.body.gid as string;
    const noBody = await rest("POST", "/v1/gids");
    expect(noBody.status).toBe(200);
    const gids = [a, b, c, noBody.body.gid as string];
    for (const g of gids) expect(g).toMatch(/^[0-9A-Za-z]{22}$/);
    expect(new Set(gids).size).toBe(4);
  });
});

describe("SubmitSaga", () => {
  test("gRPC with wait_result: SUCCEED, and the branches got the payload bytes", async () => {
    const res = await grpc.submitSaga({
      gid: "native-grpc-ok",
      saga: { steps: steps([P1, P2]) },
      options: { waitResult: true, branchHeaders: { "x-tenant": "t1" } },
    });
    expect(res.gid).toBe("native-grpc-ok");
    expect(res.status).toBe(TransactionStatus.SUCCEED);
    expect(res.rollbackReason).toBe("");
    const calls = rm.calls();
    expect(calls.map((c) => [c.transport, c.method, c.path, c.op, c.branchId, c.gid, c.transType])).toEqual([
      ["http", "POST", "/api/busi/TransOut", "action", "01", "native-grpc-ok", "saga"],
      ["http", "POST", "/api/busi/TransIn", "action", "02", "native-grpc-ok", "saga"],
    ]);
    expect(calls[0]!.body).toEqual(Buffer.from(P1));
    expect(calls[1]!.body).toEqual(Buffer.from(P2));
    expect(calls.every((c) => c.headers["x-tenant"] === "t1")).toBe(true);
    expect(await dtx.status("native-grpc-ok")).toBe("succeed");
  });

  test("Connect JSON with wait_result and a failing branch: FAILED with the rollback reason", async () => {
    rm.script("TransIn", "FAIL");
    const res = await connect.submitSaga({
      gid: "native-connect-fail",
      saga: { steps: steps([P1, P2]) },
      options: { waitResult: true },
    });
    expect(res.status).toBe(TransactionStatus.FAILED);
    expect(res.rollbackReason).toContain("Insufficient balance");
    expect(rm.calls().map((c) => [c.path, c.op])).toEqual([
      ["/api/busi/TransOut", "action"],
      ["/api/busi/TransIn", "action"],
      ["/api/busi/TransInRevert", "compensate"],
      ["/api/busi/TransOutRevert", "compensate"],
    ]);
    const { transaction } = await grpc.getTransaction({ gid: "native-connect-fail" });
    expect(transaction?.status).toBe(TransactionStatus.FAILED);
    expect(transaction?.rollbackReason).toBe(res.rollbackReason);
    expect(transaction?.branches.map((b) => b.status)).toEqual([
      BranchStatus.SUCCEED,
      BranchStatus.SUCCEED,
      BranchStatus.SUCCEED,
      BranchStatus.FAILED,
    ]);
  });

  test("REST without wait_result: SUBMITTED, then GetTransaction shows the finished saga", async () => {
    const gid = "native-rest-async";
    const payload = Buffer.from('{"amount":30}');
    const res = await rest("POST", "/v1/sagas", {
      gid,
      saga: {
        steps: [
          { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert"), payload: b64(payload) },
          { action: rm.url("TransIn"), compensate: rm.url("TransInRevert"), payload: b64(P2) },
        ],
      },
      options: { waitResult: false, timeoutToFail: "60s", branchHeaders: { a: "b" } },
    });
    expect(res).toEqual({ status: 200, body: { gid, status: "TRANSACTION_STATUS_SUBMITTED" } });
    await dtx.settled(gid);

    const got = await rest("GET", `/v1/transactions/${gid}`);
    expect(got.status).toBe(200);
    const t = got.body.transaction;
    expect(t).toMatchObject({
      gid,
      kind: "TRANSACTION_KIND_SAGA",
      status: "TRANSACTION_STATUS_SUCCEED",
      protocol: "PROTOCOL_HTTP",
      options: { timeoutToFail: "60s", branchHeaders: { a: "b" } },
      saga: {
        steps: [
          { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert"), payload: b64(payload) },
          { action: rm.url("TransIn"), compensate: rm.url("TransInRevert"), payload: b64(P2) },
        ],
      },
    });
    expect(typeof t.createTime).toBe("string");
    expect(typeof t.finishTime).toBe("string");
    expect(
      t.branches.map((b: any) => [b.branchId, b.op, b.url, b.payload, b.status, typeof b.createTime]),
    ).toEqual([
      ["01", "compensate", rm.url("TransOutRevert"), b64(payload), "BRANCH_STATUS_PREPARED", "string"],
      ["01", "action", rm.url("TransOut"), b64(payload), "BRANCH_STATUS_SUCCEED", "string"],
      ["02", "compensate", rm.url("TransInRevert"), b64(P2), "BRANCH_STATUS_PREPARED", "string"],
      ["02", "action", rm.url("TransIn"), b64(P2), "BRANCH_STATUS_SUCCEED", "string"],
    ]);

    const calls = rm.calls();
    expect(calls.map((c) => [c.path, c.op, c.gid])).toEqual([
      ["/api/busi/TransOut", "action", gid],
      ["/api/busi/TransIn", "action", gid],
    ]);
    expect(calls[0]!.body).toEqual(payload);
    expect(calls[1]!.body).toEqual(Buffer.from(P2));
    expect(calls.map((c) => c.headers.a)).toEqual(["b", "b"]);
  });

  test("gRPC without wait_result: SUBMITTED, then SUCCEED with the definition as typed", async () => {
    const gid = "native-grpc-async";
    const res = await grpc.submitSaga({
      gid,
      saga: { steps: steps([P1, P2]) },
      options: { timeoutToFail: { seconds: 60n }, requestTimeout: { seconds: 2n, nanos: 500_000_000 } },
    });
    expect([res.gid, res.status]).toEqual([gid, TransactionStatus.SUBMITTED]);
    await dtx.settled(gid);
    const t = (await grpc.getTransaction({ gid })).transaction as Transaction;
    expect(t.status).toBe(TransactionStatus.SUCCEED);
    expect(t.kind).toBe(TransactionKind.SAGA);
    expect(t.options?.timeoutToFail?.seconds).toBe(60n);
    expect([t.options?.requestTimeout?.seconds, t.options?.requestTimeout?.nanos]).toEqual([2n, 500_000_000]);
    expect(t.definition.case).toBe("saga");
    const saga = t.definition.case === "saga" ? t.definition.value : undefined;
    expect(saga?.steps.map((s) => [s.action, s.compensate, Buffer.from(s.payload)])).toEqual([
      [rm.url("TransOut"), rm.url("TransOutRevert"), Buffer.from(P1)],
      [rm.url("TransIn"), rm.url("TransInRevert"), Buffer.from(P2)],
    ]);
    expect(t.branches.map((b) => [b.branchId, b.op, b.status])).toEqual([
      ["01", "compensate", BranchStatus.PREPARED],
      ["01", "action", BranchStatus.SUCCEED],
      ["02", "compensate", BranchStatus.PREPARED],
      ["02", "action", BranchStatus.SUCCEED],
    ]);
    expect(t.finishTime).toBeDefined();
  });

  test("a concurrent saga keeps its orders", async () => {
    const gid = "native-concurrent";
    const res = await connect.submitSaga({
      gid,
      saga: { steps: steps([P1, P2]), concurrent: true, orders: { 1: { steps: [0] } } },
      options: { waitResult: true },
    });
    expect(res.status).toBe(TransactionStatus.SUCCEED);
    const t = (await connect.getTransaction({ gid })).transaction as Transaction;
    const saga = t.definition.case === "saga" ? t.definition.value : undefined;
    expect(saga?.concurrent).toBe(true);
    expect(Object.fromEntries(Object.entries(saga?.orders ?? {}).map(([k, v]) => [k, v.steps]))).toEqual({
      1: [0],
    });
    expect((await dtx.query(gid)).transaction.custom_data).toBe('{"concurrent":true,"orders":{"1":[0]}}');
  });

  test("PROTOCOL_GRPC calls gRPC branches with the payload as the raw request message", async () => {
    const gid = "native-grpc-branches";
    const payload = toBinary(
      SagaBranchServiceActionRequestSchema,
      create(SagaBranchServiceActionRequestSchema, { payload: Buffer.from("hi") }),
    );
    const res = await grpc.submitSaga({
      gid,
      protocol: Protocol.GRPC,
      saga: {
        steps: [
          { action: rm.grpcUrl("TransOut"), compensate: rm.grpcUrl("TransOutRevert"), payload },
          { action: rm.grpcUrl("TransIn"), compensate: rm.grpcUrl("TransInRevert"), payload: P2 },
        ],
      },
      options: { waitResult: true, branchHeaders: { "x-tenant": "t2" } },
    });
    expect(res.status).toBe(TransactionStatus.SUCCEED);
    const calls = rm.calls();
    expect(calls.map((c) => [c.transport, c.path, c.op, c.branchId, c.gid, c.transType])).toEqual([
      ["grpc", "/busi.Busi/TransOut", "action", "01", gid, "saga"],
      ["grpc", "/busi.Busi/TransIn", "action", "02", gid, "saga"],
    ]);
    expect(calls[0]!.body).toEqual(Buffer.from(payload));
    expect(calls[1]!.body).toEqual(Buffer.from(P2));
    expect(calls.map((c) => c.headers["x-tenant"])).toEqual(["t2", "t2"]);
    const t = (await grpc.getTransaction({ gid })).transaction as Transaction;
    expect(t.protocol).toBe(Protocol.GRPC);
    expect((await dtx.query(gid)).transaction.protocol).toBe("grpc");
  });

  test("an empty gid: the coordinator generates one", async () => {
    const res = await grpc.submitSaga({ saga: { steps: steps([P1]) }, options: { waitResult: true } });
    expect(res.gid).toMatch(/^[0-9A-Za-z]{22}$/);
    expect(res.status).toBe(TransactionStatus.SUCCEED);
    expect(rm.calls().map((c) => c.gid)).toEqual([res.gid]);
    expect((await grpc.getTransaction({ gid: res.gid })).transaction?.gid).toBe(res.gid);

    const r = await rest("POST", "/v1/sagas", {
      saga: { steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }] },
      options: { waitResult: true },
    });
    expect(r.status).toBe(200);
    expect(r.body.gid).toMatch(/^[0-9A-Za-z]{22}$/);
    expect(r.body.gid).not.toBe(res.gid);
    expect(r.body.status).toBe("TRANSACTION_STATUS_SUCCEED");
  });

  test("submitting a finished gid again: FAILED_PRECONDITION (REST 400), nothing is called", async () => {
    const gid = "native-grpc-ok"; // finished above
    const before = await dtx.query(gid);
    rm.clearCalls();
    const err = await failureOf(grpc.submitSaga({ gid, saga: { steps: steps([P1, P2]) } }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toContain("succeed");
    const viaConnect = await failureOf(connect.submitSaga({ gid, saga: { steps: steps([P1]) } }));
    expect(viaConnect.code).toBe(Code.FailedPrecondition);
    const r = await rest("POST", "/v1/sagas", {
      gid,
      saga: { steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }] },
    });
    expect(r.status).toBe(400);
    expect(r.body.code).toBe(Code.FailedPrecondition);
    expect(r.body.message).toContain("succeed");
    expect(rm.calls()).toEqual([]);
    expect(await dtx.query(gid)).toEqual(before);
  });
});

describe("GetTransaction", () => {
  test("an unknown gid is NOT_FOUND (REST 404)", async () => {
    const err = await failureOf(grpc.getTransaction({ gid: "no-such-gid" }));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("no-such-gid");
    expect((await failureOf(connect.getTransaction({ gid: "no-such-gid" }))).code).toBe(Code.NotFound);
    const r = await rest("GET", "/v1/transactions/no-such-gid");
    expect(r.status).toBe(404);
    expect(r.body.code).toBe(Code.NotFound);
    expect(r.body.message).toContain("no-such-gid");
  });

  test("durations are proto JSON strings over Connect JSON and REST", async () => {
    const gid = "native-rest-async";
    const res = await request(`${dtx.base}/dtx.v1.CoordinatorService/GetTransaction`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ gid }),
    });
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as any;
    expect(body.transaction.options.timeoutToFail).toBe("60s");
    expect(body.transaction.nextCronInterval).toMatch(/^\d+(\.\d+)?s$/);
    const r = await rest("GET", `/v1/transactions/${gid}`);
    expect(r.body.transaction.options.timeoutToFail).toBe("60s");
    expect((await rest("GET", "/v1/transactions/native-grpc-async")).body.transaction.options).toMatchObject({
      timeoutToFail: "60s",
      requestTimeout: "2.500s",
    });
  });
});

describe("ListTransactions", () => {
  test("pages newest first with page tokens until an empty token", async () => {
    const all = (await grpc.listTransactions({ pageSize: 1000 })).transactions.map((t) => t.gid);
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(new Set(all).size).toBe(all.length);
    expect(all.indexOf("native-grpc-ok")).toBeGreaterThan(all.indexOf("native-rest-async")); // newest first

    const first = await grpc.listTransactions({ pageSize: 1 });
    expect(first.transactions.map((t) => t.gid)).toEqual([all[0]]);
    expect(first.nextPageToken).not.toBe("");
    const second = await grpc.listTransactions({ pageSize: 1, pageToken: first.nextPageToken });
    expect(second.transactions.map((t) => t.gid)).toEqual([all[1]]);
    expect(second.nextPageToken).not.toBe(first.nextPageToken);

    const seen: string[] = [];
    let token = "";
    for (let i = 0; i <= all.length + 1; i++) {
      const page = await connect.listTransactions({ pageSize: 2, pageToken: token });
      expect(page.transactions.length).toBeLessThanOrEqual(2);
      seen.push(...page.transactions.map((t) => t.gid));
      token = page.nextPageToken;
      if (token === "") break;
    }
    expect(token).toBe("");
    expect(seen).toEqual(all);
  });

  test("filters by status and kind", async () => {
    const succeed = (await grpc.listTransactions({ status: TransactionStatus.SUCCEED })).transactions;
    expect(succeed.length).toBeGreaterThan(0);
    expect(succeed.every((t) => t.status === TransactionStatus.SUCCEED)).toBe(true);
    expect(succeed.map((t) => t.gid)).toContain("native-grpc-ok");
    expect(succeed.map((t) => t.gid)).not.toContain("native-connect-fail");

    const failed = (await connect.listTransactions({ status: TransactionStatus.FAILED })).transactions;
    expect(failed.map((t) => t.gid)).toEqual(["native-connect-fail"]);
    expect(failed[0]!.rollbackReason).toContain("Insufficient balance");

    const all = (await grpc.listTransactions({})).transactions;
    const sagas = (await grpc.listTransactions({ kind: TransactionKind.SAGA })).transactions;
    expect(sagas.map((t) => t.gid)).toEqual(all.map((t) => t.gid));
    expect((await grpc.listTransactions({ kind: TransactionKind.TCC })).transactions).toEqual([]);
    const both = await grpc.listTransactions({
      kind: TransactionKind.SAGA,
      status: TransactionStatus.FAILED,
    });
    expect(both.transactions.map((t) => t.gid)).toEqual(["native-connect-fail"]);
  });

  test("REST: ?pageSize=1&status=TRANSACTION_STATUS_SUCCEED", async () => {
    const r = await rest("GET", "/v1/transactions?pageSize=1&status=TRANSACTION_STATUS_SUCCEED");
    expect(r.status).toBe(200);
    expect(r.body.transactions).toHaveLength(1);
    expect(r.body.transactions[0].status).toBe("TRANSACTION_STATUS_SUCCEED");
    expect(r.body.transactions[0].kind).toBe("TRANSACTION_KIND_SAGA");
    expect(r.body.nextPageToken).toEqual(expect.any(String));
    expect(r.body.nextPageToken).not.toBe("");
    const next = await rest(
      "GET",
      `/v1/transactions?page_size=1&status=TRANSACTION_STATUS_SUCCEED&pageToken=${r.body.nextPageToken}`,
    );
    expect(next.status).toBe(200);
    expect(next.body.transactions).toHaveLength(1);
    expect(next.body.transactions[0].gid).not.toBe(r.body.transactions[0].gid);
    expect(next.body.transactions[0].status).toBe("TRANSACTION_STATUS_SUCCEED");

    const failed = await rest(
      "GET",
      "/v1/transactions?status=TRANSACTION_STATUS_FAILED&kind=TRANSACTION_KIND_SAGA",
    );
    expect(failed.body.transactions.map((t: any) => t.gid)).toEqual(["native-connect-fail"]);
    expect(failed.body.nextPageToken ?? "").toBe("");
    const none = await rest("GET", "/v1/transactions?kind=TRANSACTION_KIND_XA");
    expect(none.status).toBe(200);
    expect(none.body.transactions ?? []).toEqual([]);
  });
});

describe("the native API and dtm's API see the same transactions", () => {
  test("a native saga is visible through /api/dtmsvr/query", async () => {
    const q = await dtx.query("native-rest-async");
    expect(q.transaction).toMatchObject({
      gid: "native-rest-async",
      trans_type: "saga",
      status: "succeed",
      protocol: "http",
    });
    expect(JSON.parse(q.transaction.options)).toMatchObject({
      timeout_to_fail: 60,
      branch_headers: { a: "b" },
    });
    expect(q.branches.map((b: any) => [b.branch_id, b.op, b.status, b.bin_data])).toEqual([
      ["01", "compensate", "prepared", b64('{"amount":30}')],
      ["01", "action", "succeed", b64('{"amount":30}')],
      ["02", "compensate", "prepared", b64(P2)],
      ["02", "action", "succeed", b64(P2)],
    ]);
  });

  test("a dtm saga is visible through GetTransaction", async () => {
    const gid = "dtm-submitted";
    const res = await dtx.post("/api/dtmsvr/submit", {
      gid,
      trans_type: "saga",
      steps: [
        { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
        { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
      ],
      payloads: ['{"amount":30}', '{"amount":40}'],
      wait_result: true,
      timeout_to_fail: 60,
      branch_headers: { h: "v" },
    });
    expect(res).toEqual({ status: 200, body: { dtm_result: "SUCCESS" } });
    const t = (await grpc.getTransaction({ gid })).transaction as Transaction;
    expect([t.gid, t.kind, t.status, t.protocol]).toEqual([
      gid,
      TransactionKind.SAGA,
      TransactionStatus.SUCCEED,
      Protocol.HTTP,
    ]);
    expect(t.options?.waitResult).toBe(true);
    expect(t.options?.timeoutToFail?.seconds).toBe(60n);
    expect(t.options?.branchHeaders).toEqual({ h: "v" });
    const saga = t.definition.case === "saga" ? t.definition.value : undefined;
    expect(saga?.steps.map((s) => [s.action, Buffer.from(s.payload).toString()])).toEqual([
      [rm.url("TransOut"), '{"amount":30}'],
      [rm.url("TransIn"), '{"amount":40}'],
    ]);
    const r = await rest("GET", `/v1/transactions/${gid}`);
    expect(r.body.transaction.options).toMatchObject({ waitResult: true, timeoutToFail: "60s" });
    const listed = (await grpc.listTransactions({ pageSize: 1 })).transactions[0];
    expect(listed?.gid).toBe(gid);
  });
});
