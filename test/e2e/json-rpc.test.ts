/**
 * dtm's JSON-RPC 2.0 façade (`POST /api/json-rpc`, §2.6) and JSON-RPC branch calls (`protocol:
 * "json-rpc"`, §4.3): scenario 66 of §10.3 and the flows of dtm's JSON-RPC clients (msg_jrpc_test.go,
 * tcc_jrpc_test.go) — the same route handlers as HTTP behind one dispatcher.
 */
import { request } from "undici";
import type { RawAnswer } from "../support/branch-services";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { msgBody } from "./msg-helpers";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, OUT, summary } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;

/** A JSON-RPC answer of a branch: `error` null, or a JSON-RPC error code. */
const jrpc = (code?: number): RawAnswer => ({
  status: 200,
  body: JSON.stringify({
    jsonrpc: "2.0",
    id: "x",
    result: null,
    error: code === undefined ? null : { code, message: "m" },
  }),
});

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  for (const name of ["TransOutJrpc", "TransInJrpc", "RevertJrpc", "QueryPreparedJrpc"])
    rm.setDefault(name, jrpc());
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

/** POST to the façade as dtm's JSON-RPC clients do (id `no-use`); the HTTP status and the parsed answer. */
async function call(method: string, params: unknown, extra: Record<string, unknown> = {}) {
  return dtx.post("/api/json-rpc", { jsonrpc: "2.0", id: "no-use", method, params, ...extra });
}

/** A branch URL that names a JSON-RPC method. */
const method = (route: string, name: string): string => `${rm.url(route)}?method=${name}`;

describe("66: the façade's errors", () => {
  test("a body that is not JSON → HTTP 400, -32700", async () => {
    const res = await dtx.post("/api/json-rpc", "hello");
    expect(res).toEqual({
      status: 400,
      body: {
        jsonrpc: "2.0",
        id: null,
        result: null,
        error: { code: -32700, message: expect.stringMatching(/^Parse json error: /) },
      },
    });
  });

  test('"jsonrpc":"1.0", a missing id, or not an object → -32600', async () => {
    for (const body of [
      { jsonrpc: "1.0", method: "newGid", params: "", id: "no-use" },
      { jsonrpc: "2.0", method: "newGid", params: "" },
      [{ jsonrpc: "2.0", method: "newGid", id: "1" }],
    ]) {
      const res = await dtx.post("/api/json-rpc", body);
      expect(res.status).toBe(200);
      expect(res.body.error.code).toBe(-32600);
      expect(res.body.result).toBeNull();
    }
  });

  test("an unknown method → -32601, echoing the id", async () => {
    expect(await call("not-exists", "")).toEqual({
      status: 200,
      body: {
        jsonrpc: "2.0",
        id: "no-use",
        result: null,
        error: { code: -32601, message: "Method not found: not-exists" },
      },
    });
  });

  test("registerBranch with a bad trans_type → -32603", async () => {
    const res = await call("registerBranch", { trans_type: "not-exists" });
    expect(res.status).toBe(200);
    expect(res.body.error).toEqual({ code: -32603, message: expect.any(String) });
  });

  test("GET → 405", async () => {
    const res = await request(`${dtx.base}/api/json-rpc`);
    expect(res.statusCode).toBe(405);
    await res.body.dump();
  });
});

test("newGid → result {gid} without dtm_result; a numeric id is echoed", async () => {
  const res = await call("newGid", "", { id: 7 });
  expect(res).toEqual({
    status: 200,
    body: { jsonrpc: "2.0", id: 7, error: null, result: { gid: expect.any(String) } },
  });
  expect(res.body.result.gid).toHaveLength(22);
});

test("a msg over JSON-RPC (prepare, submit) with plain HTTP steps → result null, error null; succeed", async () => {
  const gid = freshGid("jrpc-msg");
  const body = msgBody(rm, gid, { protocol: "json-rpc" });
  expect(await call("prepare", body)).toEqual({
    status: 200,
    body: { jsonrpc: "2.0", id: "no-use", error: null, result: null },
  });
  expect((await call("submit", body)).body.error).toBeNull();
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["S", "S"]);
  expect((await dtx.query(gid)).transaction.protocol).toBe("json-rpc");
  // steps whose URL names no method are plain HTTP calls
  expect(summary(callsOf(rm, gid))).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  // 48: a submit after succeed is FAILURE (-32901)
  expect((await call("submit", body)).body.error).toEqual({
    code: -32901,
    message: "current status 'succeed', cannot sumbmit. FAILURE",
  });
});

test("reads and topics through the façade: query, subscribe, queryKV", async () => {
  const gid = freshGid("jrpc-query");
  expect((await call("submit", msgBody(rm, gid, { wait_result: true }))).body.error).toBeNull();
  const q = await call("query", { gid });
  expect(q.body.result.transaction).toMatchObject({ gid, status: "succeed", trans_type: "msg" });
  expect(q.body.result.branches).toHaveLength(2);
  expect(
    (await call("subscribe", { topic: "jrpc_topic", url: rm.url("TransIn"), remark: "r" })).body,
  ).toMatchObject({
    error: null,
    result: null,
  });
  const kv = await call("queryKV", { cat: "topics", key: "jrpc_topic" });
  expect(kv.body.result.kv).toMatchObject([{ k: "jrpc_topic", version: 1 }]);
  expect((await call("deleteTopic", { topic: "jrpc_topic" })).body.error).toBeNull();
});

describe("JSON-RPC branch calls (protocol json-rpc, a URL naming a method)", () => {
  test("the call: POST to the URL as given, {jsonrpc, method, id, params: payload + gid, trans_type, branch_id, op}", async () => {
    const gid = freshGid("jrpc-branch");
    const body = {
      ...msgBody(rm, gid, { protocol: "json-rpc", wait_result: true }),
      steps: [{ action: method("TransOutJrpc", "TransOut") }, { action: method("TransInJrpc", "TransIn") }],
    };
    expect((await call("submit", body)).body.error).toBeNull();
    await expectSaga(dtx, gid, "succeed", ["S", "S"]);
    const calls = rm.calls().filter((c) => c.path.endsWith("Jrpc") && c.body.includes(gid));
    expect(calls.map((c) => [c.path, c.method, c.gid, c.headers["content-type"]])).toEqual([
      ["/api/busi/TransOutJrpc", "POST", "", "application/json"],
      ["/api/busi/TransInJrpc", "POST", "", "application/json"],
    ]);
    const sent = calls.map((c) => JSON.parse(c.body.toString()));
    expect(sent[0]).toEqual({
      jsonrpc: "2.0",
      method: "TransOut",
      id: expect.stringMatching(/^[1-9A-Za-z]{22}$/),
      params: { ...JSON.parse(OUT), gid, trans_type: "msg", branch_id: "01", op: "action" },
    });
    expect(sent[1]).toMatchObject({ method: "TransIn", params: { gid, branch_id: "02", op: "action" } });
    expect(sent[0].id).not.toBe(sent[1].id);
  });

  test("the check-back as JSON-RPC: params {gid, trans_type, branch_id 00, op msg}; FAILURE (-32901) fails the message", async () => {
    const gid = freshGid("jrpc-check-back");
    rm.script("QueryPreparedJrpc", jrpc(-32902), jrpc(-32901));
    const body = msgBody(rm, gid, {
      protocol: "json-rpc",
      query_prepared: method("QueryPreparedJrpc", "QueryPrepared"),
    });
    expect((await call("prepare", body)).body.error).toBeNull();
    expect(await dtx.cron({ forwardMs: 60_000 })).toContain(gid);
    let { transaction } = await dtx.query(gid);
    expect([transaction.status, transaction.next_cron_interval]).toEqual(["prepared", 10]); // ONGOING
    expect(await dtx.cron({ forwardMs: 120_000 })).toContain(gid);
    ({ transaction } = await dtx.query(gid));
    expect(transaction.status).toBe("failed");
    const checks = rm.callsTo("QueryPreparedJrpc").map((c) => JSON.parse(c.body.toString()));
    expect(checks.filter((c) => c.params.gid === gid)).toEqual([
      expect.objectContaining({
        method: "QueryPrepared",
        params: { gid, trans_type: "msg", branch_id: "00", op: "msg" },
      }),
      expect.objectContaining({
        method: "QueryPrepared",
        params: { gid, trans_type: "msg", branch_id: "00", op: "msg" },
      }),
    ]);
  });

  test("49: an unrecognised JSON-RPC error is retried (backing off) until the branch answers error null", async () => {
    const gid = freshGid("jrpc-results");
    rm.script("TransOutJrpc", jrpc(-23977), jrpc(-23977));
    const body = {
      ...msgBody(rm, gid, { protocol: "json-rpc" }),
      steps: [{ action: method("TransOutJrpc", "TransOut") }],
      payloads: [OUT],
    };
    expect((await call("submit", body)).body.error).toBeNull();
    await dtx.settled(gid);
    let { transaction } = await dtx.query(gid);
    expect([transaction.status, transaction.next_cron_interval]).toEqual(["submitted", 20]);
    expect(await dtx.cron({ forwardMs: 30_000 })).toContain(gid);
    ({ transaction } = await dtx.query(gid));
    expect([transaction.status, transaction.next_cron_interval]).toEqual(["submitted", 40]);
    expect(await dtx.cron({ forwardMs: 90_000 })).toContain(gid);
    await expectSaga(dtx, gid, "succeed", ["S"]);
  });

  test("a saga action answering -32901 is FAILURE: the saga rolls back, compensations called as JSON-RPC too", async () => {
    const gid = freshGid("jrpc-saga");
    rm.script("TransInJrpc", jrpc(-32901));
    const saga = {
      gid,
      trans_type: "saga",
      protocol: "json-rpc",
      wait_result: true,
      steps: [
        { action: method("TransOutJrpc", "TransOut"), compensate: method("RevertJrpc", "TransOutRevert") },
        { action: method("TransInJrpc", "TransIn"), compensate: method("RevertJrpc", "TransInRevert") },
      ],
      payloads: [OUT, OUT],
    };
    expect((await call("submit", saga)).body.error).toMatchObject({ code: -32901 });
    await expectSaga(dtx, gid, "failed", ["S", "S", "S", "F"]);
    const reverts = rm.callsTo("RevertJrpc").map((c) => JSON.parse(c.body.toString()));
    expect(
      reverts.filter((c) => c.params.gid === gid).map((c) => [c.method, c.params.branch_id, c.params.op]),
    ).toEqual([
      ["TransInRevert", "02", "compensate"],
      ["TransOutRevert", "01", "compensate"],
    ]);
  });

  test("a payload that is no JSON object cannot be sent as params: 400 at submit, nothing written", async () => {
    const gid = freshGid("jrpc-bad-payload");
    const body = {
      ...msgBody(rm, gid, { protocol: "json-rpc" }),
      steps: [{ action: method("TransOutJrpc", "TransOut") }],
      payloads: ["[1,2]"],
    };
    const res = await dtx.post("/api/dtmsvr/submit", body);
    expect(res).toEqual({
      status: 400,
      body: {
        dtm_result: "FAILURE",
        message: "payloads[0]: must be a JSON object: it is sent as the JSON-RPC params. FAILURE",
      },
    });
    expect((await call("submit", body)).body.error).toMatchObject({
      code: -32603,
      message: expect.stringContaining("payloads[0]"),
    });
    expect(await dtx.query(gid)).toEqual({ transaction: null, branches: [] });
  });
});
