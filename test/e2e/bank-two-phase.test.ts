/**
 * The README's TCC and XA walk-throughs against the sample bank (examples/bank), request for request, from
 * the balances the saga walk-through leaves (alice 970, bob 1030); plus the bank's barrier rules for TCC.
 */
import { request } from "undici";
import { BankService } from "../../examples/bank/bank-service";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let bank: BankService;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  bank = await BankService.start(0);
  bank.balances.set("alice", 970).set("bob", 1030);
});
afterAll(async () => {
  await bank?.close();
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

/** registerBranch of a TCC transfer leg, as the README writes it. */
function tccLeg(gid: string, branchId: string, user: string, amount: number, side: "TransOut" | "TransIn") {
  return JSON.stringify({
    gid,
    trans_type: "tcc",
    branch_id: branchId,
    data: JSON.stringify({ user, amount }),
    confirm: `${bank.base}/tcc/${side}Confirm`,
    cancel: `${bank.base}/tcc/${side}Cancel`,
  });
}

const tryUrl = (side: string, gid: string, branchId: string) =>
  `${bank.base}/tcc/${side}Try?gid=${gid}&branch_id=${branchId}&op=try`;

/** The resource manager's XA call with the coordinator's address and its own URL. */
const xaUrl = (side: string, gid: string, branchId: string) =>
  `${bank.base}/xa/${side}?gid=${gid}&branch_id=${branchId}&op=action&dtm=${dtm("").slice(0, -1)}` +
  `&phase2_url=${bank.base}/xa/${side}`;

test("TCC: a transfer of 40 is held by the tries and confirmed by submit", async () => {
  expect(await curl(dtm("prepare"), '{"gid": "tcc-1", "trans_type": "tcc"}')).toEqual(SUCCESS);
  expect(await curl(dtm("registerBranch"), tccLeg("tcc-1", "01", "alice", 40, "TransOut"))).toEqual(SUCCESS);
  expect(await curl(tryUrl("TransOut", "tcc-1", "01"), '{"user":"alice","amount":40}')).toEqual(SUCCESS);
  expect(bank.twoPhase.held.get("alice")).toBe(40);
  expect(await curl(dtm("registerBranch"), tccLeg("tcc-1", "02", "bob", 40, "TransIn"))).toEqual(SUCCESS);
  expect(await curl(tryUrl("TransIn", "tcc-1", "02"), '{"user":"bob","amount":40}')).toEqual(SUCCESS);
  const submit = '{"gid": "tcc-1", "trans_type": "tcc", "wait_result": true}';
  expect(await curl(dtm("submit"), submit)).toEqual(SUCCESS);
  expect(await balances()).toEqual({ alice: 930, bob: 1070 });
  expect(bank.twoPhase.held.get("alice")).toBe(0);
});

test("TCC: a failed try, the abort cancels what was registered and releases the hold", async () => {
  expect(await curl(dtm("prepare"), '{"gid": "tcc-2", "trans_type": "tcc"}')).toEqual(SUCCESS);
  expect(await curl(dtm("registerBranch"), tccLeg("tcc-2", "01", "alice", 50, "TransOut"))).toEqual(SUCCESS);
  expect(await curl(tryUrl("TransOut", "tcc-2", "01"), '{"user":"alice","amount":50}')).toEqual(SUCCESS);
  expect(await curl(dtm("registerBranch"), tccLeg("tcc-2", "02", "carol", 50, "TransIn"))).toEqual(SUCCESS);
  expect(await curl(tryUrl("TransIn", "tcc-2", "02"), '{"user":"carol","amount":50}')).toEqual({
    status: 409,
    body: { dtm_result: "FAILURE", error: "no account carol" },
  });
  const abort =
    '{"gid": "tcc-2", "trans_type": "tcc", "rollback_reason": "no account carol", "wait_result": true}';
  expect(await curl(dtm("abort"), abort)).toEqual(SUCCESS);
  expect(await balances()).toEqual({ alice: 930, bob: 1070 });
  expect(bank.twoPhase.held.get("alice")).toBe(0);
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
    status: 409,
    body: { dtm_result: "FAILURE", error: "no account carol" },
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
      confirm: `${bank.base}/tcc/${side}Confirm`,
      cancel: `${bank.base}/tcc/${side}Cancel`,
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

test("the bank's TCC barrier: a repeated confirm does nothing; a cancel before its try blocks the try", async () => {
  const before = await balances();
  const confirm = `${bank.base}/tcc/TransInConfirm?gid=tcc-1&branch_id=02&op=confirm`;
  expect((await curl(confirm, '{"user":"bob","amount":40}')).body.note).toBe("already done");
  const cancel = `${bank.base}/tcc/TransOutCancel?gid=tcc-late&branch_id=01&op=cancel`;
  expect((await curl(cancel, '{"user":"alice","amount":7}')).body.note).toBe("null compensation");
  expect((await curl(tryUrl("TransOut", "tcc-late", "01"), '{"user":"alice","amount":7}')).body.note).toBe(
    "already done",
  );
  expect(await balances()).toEqual(before);
  expect(bank.twoPhase.held.get("alice")).toBe(0);
});
