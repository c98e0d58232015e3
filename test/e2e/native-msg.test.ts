/**
 * The native API's 2-phase messages (`PrepareMsg`, `SubmitMsg`, `AbortMsg`) and topics
 * (`dtx.v1.TopicService`) end to end: over REST the way a curl user calls them, and over gRPC.
 */
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { request } from "undici";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TopicService } from "../../gen/dtx/v1/topics_pb";
import { TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { failureOf } from "../support/failure-of";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, summary } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;
let coordinator: Client<typeof CoordinatorService>;
let topics: Client<typeof TopicService>;

beforeAll(async () => {
  [dtx, rm] = await Promise.all([TestCoordinator.start(), BranchServices.start()]);
  sessions = new Http2SessionManager(dtx.base);
  const transport = createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions });
  coordinator = createClient(CoordinatorService, transport);
  topics = createClient(TopicService, transport);
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  sessions?.abort();
  await rm?.close();
  await dtx?.close();
});

/** A REST call as curl makes it: JSON text in, status and parsed JSON out. */
async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(dtx.base + path, {
    method: method as "GET",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

const b64 = (s: string): string => Buffer.from(s).toString("base64");

describe("messages", () => {
  test("REST: prepare, read it back, submit by the same gid → succeed; steps called with their payloads", async () => {
    const gid = freshGid("native-msg");
    const msg = {
      steps: [
        { action: rm.url("TransOut"), payload: b64('{"amount":30}') },
        { action: rm.url("TransIn"), payload: b64('{"amount":30}') },
      ],
      queryPrepared: rm.url("QueryPrepared"),
    };
    expect(await rest("POST", "/v1/msgs:prepare", { gid, msg })).toEqual({ status: 200, body: { gid } });
    const { body } = await rest("GET", `/v1/transactions/${gid}`);
    expect(body.transaction).toMatchObject({
      gid,
      kind: "TRANSACTION_KIND_MSG",
      status: "TRANSACTION_STATUS_PREPARED",
      msg: { steps: msg.steps, queryPrepared: msg.queryPrepared },
    });
    expect(body.transaction.branches.map((b: any) => [b.branchId, b.op])).toEqual([
      ["01", "action"],
      ["02", "action"],
    ]);
    const submitted = await rest("POST", "/v1/msgs", { gid, msg, options: { waitResult: true } });
    expect(submitted).toEqual({ status: 200, body: { gid, status: "TRANSACTION_STATUS_SUCCEED" } });
    await expectSaga(dtx, gid, "succeed", ["S", "S"]);
    expect(callsOf(rm, gid).map((c) => c.body.toString())).toEqual(['{"amount":30}', '{"amount":30}']);
  });

  test("gRPC: SubmitMsg with a delay and concurrent delivery; a generated gid", async () => {
    const res = await coordinator.submitMsg({
      msg: {
        steps: [{ action: rm.url("TransOut") }, { action: rm.url("TransIn") }],
        concurrent: true,
        delay: { seconds: 30n },
      },
      options: { waitResult: true },
    });
    expect(res.gid).toHaveLength(22);
    expect(res.status).toBe(TransactionStatus.SUBMITTED); // nothing before the delay
    const { transaction } = await coordinator.getTransaction({ gid: res.gid });
    expect(transaction?.definition).toMatchObject({
      case: "msg",
      value: { concurrent: true, delay: { seconds: 30n } },
    });
    expect(await dtx.cron({ forwardMs: 31_000, lookAheadMs: 0 })).toContain(res.gid);
    await expectSaga(dtx, res.gid, "succeed", ["S", "S"]);
  });

  test("gRPC: AbortMsg fails a prepared message, nothing called; again → FAILED_PRECONDITION; unknown → NOT_FOUND", async () => {
    const gid = freshGid("native-abort");
    await coordinator.prepareMsg({
      gid,
      msg: { steps: [{ action: rm.url("TransOut") }], queryPrepared: rm.url("QueryPrepared") },
    });
    expect(await coordinator.abortMsg({ gid, reason: "local transaction failed" })).toMatchObject({
      gid,
      status: TransactionStatus.FAILED,
    });
    expect((await dtx.query(gid)).transaction.rollback_reason).toBe("local transaction failed");
    let err = await failureOf(coordinator.abortMsg({ gid }));
    expect([err.code, err.rawMessage]).toEqual([
      Code.FailedPrecondition,
      "trans type: 'msg' current status 'failed', cannot abort",
    ]);
    err = await failureOf(coordinator.abortMsg({ gid: "no-such-gid" }));
    expect(err.code).toBe(Code.NotFound);
    expect(callsOf(rm, gid)).toEqual([]);
  });

  test("a prepared message submitted by its gid alone (SubmitTransaction) is delivered from its stored steps", async () => {
    const gid = freshGid("native-by-gid");
    const msg = {
      steps: [{ action: rm.url("TransIn"), payload: Buffer.from("{}") }],
      queryPrepared: rm.url("QueryPrepared"),
    };
    await coordinator.prepareMsg({ gid, msg });
    const res = await coordinator.submitTransaction({ gid, waitResult: true });
    expect(res.status).toBe(TransactionStatus.SUCCEED);
    await expectSaga(dtx, gid, "succeed", ["S"]);
    expect(summary(callsOf(rm, gid))).toEqual([["TransIn", "action", "01"]]);
    const dropped = freshGid("native-abort-by-gid");
    await coordinator.prepareMsg({ gid: dropped, msg });
    expect((await coordinator.abortTransaction({ gid: dropped })).status).toBe(TransactionStatus.FAILED);
    expect(callsOf(rm, dropped)).toEqual([]);
  });

  test("bad input names the native field; nothing written", async () => {
    const gid = freshGid("native-bad");
    expect(
      await rest("POST", "/v1/msgs:prepare", { gid, msg: { steps: [{ action: rm.url("TransOut") }] } }),
    ).toMatchObject({
      status: 400,
      body: {
        code: Code.InvalidArgument,
        message: expect.stringMatching(/^msg\.query_prepared: is required/),
      },
    });
    expect(await rest("POST", "/v1/msgs", { gid, msg: { steps: [{ action: "ftp://x" }] } })).toMatchObject({
      status: 400,
      body: { message: 'msg.steps[0].action: "ftp://x" is not an http(s) URL' },
    });
    expect(await rest("POST", "/v1/msgs", { gid })).toMatchObject({
      status: 400,
      body: { message: "msg: is required" },
    });
    expect(
      await rest("POST", "/v1/msgs", { gid, msg: { steps: [{ action: "topic://none" }] } }),
    ).toMatchObject({
      status: 400,
      body: { message: 'msg.steps[0].action: topic not found: "none" has no subscribers' },
    });
    expect((await rest("GET", `/v1/transactions/${gid}`)).status).toBe(404);
  });
});

describe("topics", () => {
  test("REST: subscribe, read, list, unsubscribe, delete — with versions and dtm's errors", async () => {
    const url = rm.url("TransIn");
    const first = await rest("POST", "/v1/topics/orders/subscribers", { url, remark: "billing" });
    expect(first).toEqual({
      status: 200,
      body: {
        topic: {
          name: "orders",
          subscribers: [{ url, remark: "billing" }],
          version: "1",
          createTime: expect.any(String),
          updateTime: expect.any(String),
        },
      },
    });
    expect(await rest("POST", "/v1/topics/orders/subscribers", { url })).toMatchObject({
      status: 409,
      body: { code: Code.AlreadyExists, message: "this url exists" },
    });
    await rest("POST", "/v1/topics/orders/subscribers", { url: rm.url("TransOut") });
    expect((await rest("GET", "/v1/topics/orders")).body.topic).toMatchObject({ version: "2" });
    expect((await rest("GET", "/v1/topics")).body.topics.map((t: any) => t.name)).toContain("orders");
    const removed = await rest("DELETE", `/v1/topics/orders/subscribers?url=${encodeURIComponent(url)}`);
    expect(removed.body.topic).toMatchObject({ subscribers: [{ url: rm.url("TransOut") }], version: "3" });
    expect(await rest("DELETE", "/v1/topics/orders")).toEqual({ status: 200, body: {} });
    expect(await rest("GET", "/v1/topics/orders")).toMatchObject({ status: 404 });
    expect(await rest("DELETE", "/v1/topics/orders")).toMatchObject({
      status: 404,
      body: { message: "no such a topic" },
    });
  });

  test("gRPC: a message on a topic fans out to its subscribers", async () => {
    await topics.subscribe({ topic: "fan", url: rm.url("TransOut") });
    await topics.subscribe({ topic: "fan", url: rm.url("TransIn") });
    const { gid } = await coordinator.submitMsg({
      msg: { steps: [{ action: "topic://fan", payload: Buffer.from("{}") }] },
      options: { waitResult: true },
    });
    await expectSaga(dtx, gid, "succeed", ["S", "S"]);
    expect(summary(callsOf(rm, gid))).toEqual([
      ["TransOut", "action", "01-01"],
      ["TransIn", "action", "01-02"],
    ]);
    const err = await failureOf(topics.subscribe({ topic: "", url: rm.url("TransIn") }));
    expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, "topic: empty topic"]);
  });
});
