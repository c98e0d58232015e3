/**
 * Why a transaction is stuck, visible: every branch row keeps its attempts, its last answer (the
 * HTTP status or gRPC code and the first 512 characters) and when it was called; dtm's `query` and
 * `all`, and the native GetTransaction and ListTransactions, show them — written with the pass's own
 * write, so a happy saga still costs two statements.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { BranchOutcome } from "../../gen/dtx/v1/types_pb";
import type { StatementEvent } from "../../src/store/store";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { dropLeftoverScripts, freshGid } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  sessions = new Http2SessionManager(dtx.base);
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  sessions?.abort();
  await dtx?.close();
  await rm?.close();
});

/** Nothing listens on port 1: every call is refused. */
const DEAD = "http://127.0.0.1:1/api/busi/TransIn";
const OK_BODY = '{"dtm_result":"SUCCESS"}';

function saga(gid: string, secondAction: string, protocol = "http") {
  return {
    gid,
    trans_type: "saga",
    protocol,
    steps: [
      { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
      { action: secondAction, compensate: rm.url("TransInRevert") },
    ],
    payloads: ["{}", "{}"],
  };
}

async function submitted(body: ReturnType<typeof saga>): Promise<void> {
  expect((await dtx.post("/api/dtmsvr/submit", body)).status).toBe(200);
  await dtx.settled(body.gid);
}

test("a saga retrying a dead URL shows why with one query; each pass adds an attempt", async () => {
  const gid = freshGid("stuck-dead");
  const before = Date.now();
  await submitted(saga(gid, DEAD));
  const { transaction, branches } = await dtx.query(gid);
  expect(transaction.status).toBe("submitted");
  expect(transaction.last_failure).toEqual({
    branch_id: "02",
    op: "action",
    url: DEAD,
    attempts: 1,
    last_outcome: "ERROR",
    last_code: "",
    last_answer: expect.stringMatching(
      /^http call http:\/\/127\.0\.0\.1:1\/api\/busi\/TransIn failed: .*ECONNREFUSED/,
    ),
    last_call_time: expect.any(String),
  });
  const calledAt = Date.parse(transaction.last_failure.last_call_time);
  expect(calledAt).toBeGreaterThanOrEqual(before - 1000);
  expect(calledAt).toBeLessThanOrEqual(Date.now() + 1000);
  // rows in storage order: comp01, act01, comp02, act02; compensations were never called
  expect(branches.map((b) => [b.op, b.attempts, b.last_outcome, b.last_code, b.last_answer])).toEqual([
    ["compensate", undefined, undefined, undefined, undefined],
    ["action", 1, "SUCCESS", "200", OK_BODY],
    ["compensate", undefined, undefined, undefined, undefined],
    ["action", 1, "ERROR", undefined, transaction.last_failure.last_answer],
  ]);

  expect(await dtx.cron({ lookAheadMs: 1_000_000 })).toContain(gid);
  const again = await dtx.query(gid);
  expect(again.branches.map((b) => b.attempts)).toEqual([undefined, 1, undefined, 2]);
  expect(Date.parse(again.transaction.last_failure.last_call_time)).toBeGreaterThanOrEqual(calledAt);
  expect(again.transaction.last_failure.attempts).toBe(2);
});

test.each([
  ["ERR", "ERROR", "500", '{"error":"injected error"}'],
  ["ONG", "ONGOING", "425", '{"dtm_result":"ONGOING"}'],
] as const)(
  "an HTTP branch answering %s: its status code and body are kept",
  async (answer, outcome, code, text) => {
    const gid = freshGid(`stuck-${answer}`);
    rm.script("TransIn", answer);
    await submitted(saga(gid, rm.url("TransIn")));
    expect((await dtx.query(gid)).transaction.last_failure).toMatchObject({
      branch_id: "02",
      attempts: 1,
      last_outcome: outcome,
      last_code: code,
      last_answer: text,
    });
  },
);

test("a gRPC branch: its code name and message; the first 512 characters only", async () => {
  const gid = freshGid("stuck-grpc");
  rm.script("TransIn", { status: 500, body: "x".repeat(600), grpc: { code: 13, details: "y".repeat(600) } });
  await submitted(saga(gid, rm.grpcUrl("TransIn"), "grpc"));
  expect((await dtx.query(gid)).transaction.last_failure).toMatchObject({
    last_outcome: "ERROR",
    last_code: "INTERNAL",
    last_answer: "y".repeat(512),
  });
});

test("a FAILURE that rolled a saga back stays its last failure; the compensations' answers are kept", async () => {
  const gid = freshGid("stuck-rolled-back");
  rm.script("TransIn", "FAIL");
  await submitted(saga(gid, rm.url("TransIn")));
  const { transaction, branches } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.last_failure).toMatchObject({ branch_id: "02", op: "action", last_code: "409" });
  expect(branches.map((b) => [b.op, b.attempts, b.last_outcome])).toEqual([
    ["compensate", 1, "SUCCESS"],
    ["action", 1, "SUCCESS"],
    ["compensate", 1, "SUCCESS"],
    ["action", 1, "FAILURE"],
  ]);
});

test("the listings show each transaction's last failure; the native API shows attempts and answers", async () => {
  const gid = freshGid("stuck-listed");
  await submitted(saga(gid, DEAD));
  const { body } = await dtx.get(`/api/dtmsvr/all?limit=1`);
  expect(body.transactions[0]).toMatchObject({ gid, last_failure: { branch_id: "02", attempts: 1 } });
  expect((await dtx.get(`/api/dtmsvr/all?gid=${gid}`)).body.transactions[0].last_failure.url).toBe(DEAD);

  const client = createClient(
    CoordinatorService,
    createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }),
  );
  const listed = (await client.listTransactions({ pageSize: 1 })).transactions[0]!;
  expect([listed.gid, listed.lastFailure?.branchId, listed.lastFailure?.answer?.outcome]).toEqual([
    gid,
    "02",
    BranchOutcome.ERROR,
  ]);
  const got = (await client.getTransaction({ gid })).transaction!;
  expect(got.branches.map((b) => [b.op, b.attempts, b.lastAnswer?.outcome, b.lastAnswer?.code])).toEqual([
    ["compensate", 0, undefined, undefined],
    ["action", 1, BranchOutcome.SUCCESS, "200"],
    ["compensate", 0, undefined, undefined],
    ["action", 1, BranchOutcome.ERROR, ""],
  ]);
  expect(got.lastFailure?.url).toBe(DEAD);
  // REST spells it in proto JSON
  const rest = await dtx.get(`/v1/transactions/${gid}`);
  expect(rest.body.transaction.lastFailure).toMatchObject({
    branchId: "02",
    attempts: 1,
    answer: { outcome: "BRANCH_OUTCOME_ERROR", callTime: expect.any(String) },
  });
});

test("the attempts ride on the pass's own write: a happy saga is two statements, a stuck pass two as well", async () => {
  const statements: StatementEvent[] = [];
  const stop = dtx.app.store.onStatement((e) => statements.push(e));
  try {
    await submitted(saga(freshGid("stuck-count-ok"), rm.url("TransIn")));
    expect(statements.map((s) => s.name)).toEqual(["insertTrans", "savePass"]);
    statements.length = 0;
    rm.script("TransIn", "ONG");
    const gid = freshGid("stuck-count-ong");
    await submitted(saga(gid, rm.url("TransIn")));
    expect(statements.map((s) => s.name)).toEqual(["insertTrans", "savePass"]);
    expect((await dtx.query(gid)).branches.map((b) => b.attempts)).toEqual([undefined, 1, undefined, 1]);
  } finally {
    stop();
  }
});
