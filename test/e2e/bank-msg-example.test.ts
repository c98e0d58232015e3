/**
 * The README's message walk-through with the sample bank: a topic with two subscribers and a message
 * fanned out to both; a prepared message decided by its check-back; the same over JSON-RPC.
 */
import type { BankService } from "../../examples/bank/bank-service";
import { TestCoordinator } from "../support/coordinator";
import { startTestBank, type TestBank } from "../support/test-bank";

let dtx: TestCoordinator;
let testBank: TestBank;
let bank: BankService;

beforeAll(async () => {
  [dtx, testBank] = await Promise.all([TestCoordinator.start(), startTestBank()]);
  bank = testBank.bank;
});
afterAll(async () => {
  await testBank?.close();
  await dtx?.close();
});

const OK = { status: 200, body: { dtm_result: "SUCCESS" } };

test("a bonus on topic `bonus` reaches both subscribers (branches 01-01, 01-02): bob gets it twice", async () => {
  expect(await dtx.get(`/api/dtmsvr/subscribe?topic=bonus&url=${bank.base}/TransIn`)).toEqual(OK);
  expect(await dtx.get(`/api/dtmsvr/subscribe?topic=bonus&url=${bank.base}/TransIn?ledger=2`)).toEqual(OK);
  const before = await bank.balances();
  const submitted = await dtx.post("/api/dtmsvr/submit", {
    gid: "bonus-1",
    trans_type: "msg",
    wait_result: true,
    steps: [{ action: "topic://bonus" }],
    payloads: [JSON.stringify({ user: "bob", amount: 5 })],
  });
  expect(submitted).toEqual(OK);
  const { transaction, branches } = await dtx.query("bonus-1");
  expect(transaction.status).toBe("succeed");
  expect(branches.map((b) => [b.branch_id, b.url, b.status])).toEqual([
    ["01-01", `${bank.base}/TransIn`, "succeed"],
    ["01-02", `${bank.base}/TransIn?ledger=2`, "succeed"],
  ]);
  expect(await bank.balances()).toEqual({ ...before, bob: before.bob! + 10 });
});

test("a prepared message nobody submits is decided by its check-back: no local transaction → failed, nothing paid", async () => {
  const before = await bank.balances();
  const prepared = await dtx.post("/api/dtmsvr/prepare", {
    gid: "pay-1",
    trans_type: "msg",
    timeout_to_fail: 3,
    query_prepared: `${bank.base}/QueryPrepared`,
    steps: [{ action: `${bank.base}/TransIn` }],
    payloads: [JSON.stringify({ user: "bob", amount: 7 })],
  });
  expect(prepared).toEqual(OK);
  expect(await dtx.cron({ forwardMs: 5_000, lookAheadMs: 0 })).toEqual(["pay-1"]);
  const { transaction } = await dtx.query("pay-1");
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toMatch(/^query_prepared answered FAILURE: /);
  expect(await bank.balances()).toEqual(before);
});

test("the same over JSON-RPC: submit, then query", async () => {
  const res = await dtx.post("/api/json-rpc", {
    jsonrpc: "2.0",
    id: "1",
    method: "submit",
    params: {
      gid: "bonus-2",
      trans_type: "msg",
      wait_result: true,
      steps: [{ action: "topic://bonus" }],
      payloads: [JSON.stringify({ user: "alice", amount: 1 })],
    },
  });
  expect(res).toEqual({ status: 200, body: { jsonrpc: "2.0", id: "1", error: null, result: null } });
  const query = await dtx.post("/api/json-rpc", {
    jsonrpc: "2.0",
    id: "2",
    method: "query",
    params: { gid: "bonus-2" },
  });
  expect(query.body.result.transaction).toMatchObject({ gid: "bonus-2", status: "succeed" });
});
