/**
 * The README's TCC and XA walk-throughs against the sample bank (examples/bank), request for request, from
 * the balances the saga walk-through leaves (alice 970, bob 1030); plus the bank's barrier rules for TCC.
 */
import { request } from "undici";
import { accounts } from "../../examples/bank/accounts";
import type { BankService } from "../../examples/bank/bank-service";
import { TestCoordinator } from "../support/coordinator";
import { startTestBank, type TestBank } from "../support/test-bank";

let dtx: TestCoordinator;
let testBank: TestBank;
let bank: BankService;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  testBank = await startTestBank({ accounts: { alice: 970, bob: 1030 } });
  bank = testBank.bank;
});
afterAll(async () => {
  await testBank?.close();
  await dtx?.close();
});

/** `curl -s [-XPOST] <url> [-d body]`: the status and the parsed answer. */
async function curl(url: string, body?: string, headers: Record<string, string> = {}) {
  const res = await request(url, { method: body === undefined ? "GET" : "POST", body, headers });
  return { status: res.statusCode, body: JSON.parse(await res.body.text()) };
}

const dtm = (route: string) => `${dtx.base}/api/dtmsvr/${route}`;
const SUCCESS = { status: 200, body: { dtm_result: "SUCCESS" } };
const balances = async () => (await curl(`${bank.base}/balances`)).body;
const frozen = async (user: string) => (await accounts(bank.pool)).find((a) => a.name === user)?.frozen;
const noAccountCarol = { status: 409, body: { dtm_result: "FAILURE", message: "no account carol" } };

/** registerBranch of a TCC transfer leg, as the README writes it. */
function tccLeg(gid: string, branchId: string, user: string, amount: number, side: "TransOut" | "TransIn") {
  return JSON.stringify({
    gid,
    trans_type: "tcc",
    branch_id: branchId,
    data: JSON.stringify({ user, amount }),
    confirm: `${bank.base}/${side}Confirm`,
    cancel: `${bank.base}/${side}Cancel`,
  });
}

const tryUrl = (side: string, gid: string, branchId: string) =>
  `${bank.base}/${side}Try?gid=${gid}&branch_id=${branchId}&trans_type=tcc&op=try`;

/** The resource manager's XA call with the coordinator's address and its own URL. */
const xaUrl = (side: string, gid: string, branchId: string) =>
  `${bank.base}/xa/${side}?gid=${gid}&branch_id=${branchId}&trans_type=xa&op=action&dtm=${dtm("").slice(0, -1)}` +
  `&phase2_url=${bank.base}/xa/${side}`;

test("TCC: a transfer of 40 is held by the tries and confirmed by submit", async () => {
  expect(await curl(dtm("prepare"), '{"gid": "tcc-1", "trans_type": "tcc"}')).toEqual(SUCCESS);
  expect(await curl(dtm("registerBranch"), tccLeg("tcc-1", "01", "alice", 40, "TransOut"))).toEqual(SUCCESS);
  expect(await curl(tryUrl("TransOut", "tcc-1", "01"), '{"user":"alice","amount":40}')).toEqual(SUCCESS);
  expect(await frozen("alice")).toBe(40);
  expect(await curl(dtm("registerBranch"), tccLeg("tcc-1", "02", "bob", 40, "TransIn"))).toEqual(SUCCESS);
  expect(await curl(tryUrl("TransIn", "tcc-1", "02"), '{"user":"bob","amount":40}')).toEqual(SUCCESS);
  const submit = '{"gid": "tcc-1", "trans_type": "tcc", "wait_result": true}';
  expect(await curl(dtm("submit"), submit)).toEqual(SUCCESS);
  expect(await balances()).toEqual({ alice: 930, bob: 1070 });
  expect(await frozen("alice")).toBe(0);
});

test("TCC: a failed try, the abort cancels what was registered and releases the hold", async () => {
  expect(await curl(dtm("prepare"), '{"gid": "tcc-2", "trans_type": "tcc"}')).toEqual(SUCCESS);
  expect(await curl(dtm("registerBranch"), tccLeg("tcc-2", "01", "alice", 50, "TransOut"))).toEqual(SUCCESS);
  expect(await curl(tryUrl("TransOut", "tcc-2", "01"), '{"user":"alice","amount":50}')).toEqual(SUCCESS);
  expect(await curl(dtm("registerBranch"), tccLeg("tcc-2", "02", "carol", 50, "TransIn"))).toEqual(SUCCESS);
  expect(await curl(tryUrl("TransIn", "tcc-2", "02"), '{"user":"carol","amount":50}')).toEqual({
    ...noAccountCarol,
  });
  const abort =
    '{"gid": "tcc-2", "trans_type": "tcc", "rollback_reason": "no account carol", "wait_result": true}';
  expect(await curl(dtm("abort"), abort)).toEqual(SUCCESS);
  expect(await balances()).toEqual({ alice: 930, bob: 1070 });
  expect(await frozen("alice")).toBe(0);
  expect(await dtx.status("tcc-2")).toBe("failed");
});

test("XA: the resource managers register themselves; submit commits", async () => {
  expect(await curl(dtm("prepare"), '{"gid": "xa-1", "trans_type": "xa"}')).toEqual(SUCCESS);
  expect(await curl(xaUrl("TransOut", "xa-1", "01"), '{"user":"bob","amount":20}')).toEqual(SUCCESS);
  expect(await curl(xaUrl("TransIn", "xa-1", "02"), '{"user":"alice","amount":20}')).toEqual(SUCCESS);
  expect(await balances()).toEqual({ alice: 930, bob: 1070 }); // prepared, not committed
  expect(await curl(dtm("submit"), '{"gid": "xa-1", "trans_type": "xa", "wait_result": true}')).toEqual(
    SUCCESS,
  );
  expect(await balances()).toEqual({ alice: 950, bob: 1050 });
});

test("XA: a resource manager that fails never registers; abort rolls back the other", async () => {
  expect(await curl(dtm("prepare"), '{"gid": "xa-2", "trans_type": "xa"}')).toEqual(SUCCESS);
  expect(await curl(xaUrl("TransOut", "xa-2", "01"), '{"user":"alice","amount":10}')).toEqual(SUCCESS);
  expect(await curl(xaUrl("TransIn", "xa-2", "02"), '{"user":"carol","amount":10}')).toEqual({
    ...noAccountCarol,
  });
  expect(await curl(dtm("abort"), '{"gid": "xa-2", "trans_type": "xa", "wait_result": true}')).toEqual(
    SUCCESS,
  );
  expect(await balances()).toEqual({ alice: 950, bob: 1050 });
  const { body } = await curl(dtm("query?gid=xa-2"));
  expect(body.transaction.status).toBe("failed");
  expect(body.branches.map((b: any) => `${b.branch_id}/${b.op}/${b.status}`)).toEqual([
    "01/rollback/succeed",
    "01/commit/prepared",
  ]);
});

test("the native API: a TCC transfer of 5 over REST and Connect", async () => {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  expect(
    await curl(`${dtx.base}/v1/tcc`, '{"gid": "tcc-native", "options": {"timeoutToFail": "60s"}}'),
  ).toEqual({
    status: 200,
    body: { gid: "tcc-native" },
  });
  for (const [id, user, side] of [
    ["01", "alice", "TransOut"],
    ["02", "bob", "TransIn"],
  ] as const) {
    const leg = {
      branchId: id,
      confirm: `${bank.base}/${side}Confirm`,
      cancel: `${bank.base}/${side}Cancel`,
      payload: b64(`{"user":"${user}","amount":5}`),
    };
    expect(await curl(`${dtx.base}/v1/tcc/tcc-native/branches`, JSON.stringify(leg))).toEqual({
      status: 200,
      body: {},
    });
    expect(await curl(tryUrl(side, "tcc-native", id), `{"user":"${user}","amount":5}`)).toEqual(SUCCESS);
  }
  const submitted = await curl(
    `${dtx.base}/dtx.v1.CoordinatorService/SubmitTransaction`,
    '{"gid": "tcc-native", "waitResult": true}',
    { "content-type": "application/json" },
  );
  expect(submitted).toEqual({
    status: 200,
    body: { gid: "tcc-native", status: "TRANSACTION_STATUS_SUCCEED" },
  });
  const { body } = await curl(`${dtx.base}/v1/transactions/tcc-native`);
  expect(body.transaction.kind).toBe("TRANSACTION_KIND_TCC");
  expect(body.transaction.tcc.branches.map((b: any) => b.branchId)).toEqual(["01", "02"]);
  expect(await balances()).toEqual({ alice: 945, bob: 1055 });
});

test("XA: a prepared debit freezes the funds until the commit; phase 2 repeated does nothing", async () => {
  expect(await curl(dtm("prepare"), '{"gid": "xa-3", "trans_type": "xa"}')).toEqual(SUCCESS);
  expect(await curl(xaUrl("TransOut", "xa-3", "01"), '{"user":"alice","amount":7}')).toEqual(SUCCESS);
  expect(await frozen("alice")).toBe(7);
  expect(await curl(dtm("submit"), '{"gid": "xa-3", "trans_type": "xa", "wait_result": true}')).toEqual(
    SUCCESS,
  );
  expect([await frozen("alice"), (await balances()).alice]).toEqual([0, 938]);
  const again = `${bank.base}/xa/TransOut?gid=xa-3&branch_id=01&trans_type=xa&op=commit`;
  expect(await curl(again, "")).toEqual(SUCCESS);
  expect((await balances()).alice).toBe(938);
});
