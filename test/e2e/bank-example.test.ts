import type { BankService } from "../../examples/bank/bank-service";
import { TestCoordinator } from "../support/coordinator";
import { startTestBank, type TestBank } from "../support/test-bank";

// The README's walk-through: a transfer that succeeds and one that compensates, money conserved.
let dtx: TestCoordinator;
let testBank: TestBank;
let bank: BankService;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  testBank = await startTestBank();
  bank = testBank.bank;
});
afterAll(async () => {
  await testBank?.close();
  await dtx?.close();
});

function transfer(gid: string, from: string, to: string, amount: number) {
  return {
    gid,
    trans_type: "saga",
    wait_result: true,
    steps: [
      { action: `${bank.base}/TransOut`, compensate: `${bank.base}/TransOutRevert` },
      { action: `${bank.base}/TransIn`, compensate: `${bank.base}/TransInRevert` },
    ],
    payloads: [JSON.stringify({ user: from, amount }), JSON.stringify({ user: to, amount })],
  };
}

test("a transfer moves the money", async () => {
  const res = await dtx.post("/api/dtmsvr/submit", transfer("bank-ok", "alice", "bob", 30));
  expect(res).toEqual({ status: 200, body: { dtm_result: "SUCCESS" } });
  expect(await dtx.status("bank-ok")).toBe("succeed");
  expect(await bank.balances()).toEqual({ alice: 970, bob: 1030 });
});

test("a transfer to an unknown account is compensated and conserves the money", async () => {
  const before = await bank.balances();
  const res = await dtx.post("/api/dtmsvr/submit", transfer("bank-fail", "alice", "carol", 50));
  expect(res.status).toBe(409);
  expect(res.body.message).toContain("no account carol");
  expect(await dtx.status("bank-fail")).toBe("failed");
  expect(await dtx.branchVector("bank-fail")).toEqual(["S", "S", "S", "F"]);
  expect(await bank.balances()).toEqual(before);
});

test("a repeated branch call has no second effect", async () => {
  await dtx.post("/api/dtmsvr/submit", transfer("bank-twice", "bob", "alice", 10));
  const before = await bank.balances();
  const again = await fetch(`${bank.base}/TransOut?gid=bank-twice&trans_type=saga&branch_id=01&op=action`, {
    method: "POST",
    body: JSON.stringify({ user: "bob", amount: 10 }),
  });
  expect(again.status).toBe(200);
  expect(await bank.balances()).toEqual(before);
});
