/**
 * The bank example's XA transfer (the SDK's XaResource on Postgres prepared transactions: skipped on
 * PGlite, which has none) and its workflow transfer, against a real coordinator: the money moves, or
 * nothing does when the credit is refused; nothing is left prepared or frozen.
 */
import { request } from "undici";
import { accounts } from "../../examples/bank/accounts";
import { httpBank } from "../../examples/bank/endpoints";
import { transferByXa } from "../../examples/bank/transfer-xa";
import { Coordinator, isBranchFailure } from "../../src/client";
import { TestCoordinator } from "../support/coordinator";
import { startTestBank, type TestBank } from "../support/test-bank";
import { freshGid } from "./saga-helpers";
import { SKIP, pgTest, pgliteTest } from "../support/prepared-transactions";

let dtx: TestCoordinator;
let sdk: Coordinator;
let testBank: TestBank;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  sdk = Coordinator.http(dtx.base);
  testBank = await startTestBank({ accounts: { alice: 1000, bob: 1000 }, coordinator: sdk });
});
afterAll(async () => {
  await testBank?.close();
  await sdk?.close();
  await dtx?.close();
});

async function ledger(): Promise<{ total: number; frozen: number; balances: Record<string, number> }> {
  const all = await accounts(testBank.bank.pool);
  return {
    total: all.reduce((n, a) => n + a.balance, 0),
    frozen: all.reduce((n, a) => n + a.frozen, 0),
    balances: Object.fromEntries(all.map((a) => [a.name, a.balance])),
  };
}

async function preparedLeft(gid: string): Promise<number> {
  const res = await testBank.bank.pool.query("select 1 from pg_prepared_xacts where gid like $1", [
    `${gid}-%`,
  ]);
  return res.rowCount ?? 0;
}

pgTest(
  `an XA transfer prepares the debit and the credit, and the coordinator commits both ${SKIP}`,
  async () => {
    const before = (await ledger()).balances;
    const gid = await transferByXa(sdk, httpBank(testBank.bank.base), "alice", "bob", 30);
    expect(await dtx.status(gid)).toBe("succeed");
    expect((await ledger()).balances).toEqual({ alice: before.alice! - 30, bob: before.bob! + 30 });
    expect(await preparedLeft(gid)).toBe(0);
  },
);

pgTest(`an XA transfer to an account that does not exist is rolled back ${SKIP}`, async () => {
  const before = await ledger();
  const gid = freshGid("bank-xa-refused");
  const err = await transferByXa(sdk, httpBank(testBank.bank.base), "alice", "carol", 30, gid).catch(
    (e: unknown) => e,
  );
  expect(isBranchFailure(err)).toBe(true);
  expect((err as Error).message).toContain("no account carol");
  expect(await ledger()).toEqual(before);
  expect(await dtx.status(gid)).toBe("failed");
  expect(await preparedLeft(gid)).toBe(0);
});

pgliteTest("an XA transfer on PGlite fails for good, naming max_prepared_transactions", async () => {
  const before = await ledger();
  const err = await transferByXa(sdk, httpBank(testBank.bank.base), "alice", "bob", 30).catch(
    (e: unknown) => e,
  );
  expect(isBranchFailure(err)).toBe(true);
  expect((err as Error).message).toContain("max_prepared_transactions");
  expect(await ledger()).toEqual(before);
});

test("a workflow transfer debits and credits, each step recorded; running it again changes nothing", async () => {
  const before = (await ledger()).balances;
  const gid = freshGid("bank-wf");
  expect(await testBank.bank.transferByWorkflow("bob", "alice", 20, gid)).toBe(gid);
  expect(await dtx.status(gid)).toBe("succeed");
  expect((await dtx.query(gid)).branches.map((b) => [b.branch_id, b.op, b.status])).toEqual([
    ["01", "action", "succeed"],
    ["02", "action", "succeed"],
  ]);
  await testBank.bank.transferByWorkflow("bob", "alice", 20, gid);
  expect((await ledger()).balances).toEqual({ alice: before.alice! + 20, bob: before.bob! - 20 });
});

test("a workflow transfer to an account that does not exist is compensated (POST TransferByWorkflow)", async () => {
  const before = await ledger();
  const res = await request(`${testBank.bank.base}/TransferByWorkflow`, {
    method: "POST",
    body: JSON.stringify({ from: "alice", to: "carol", amount: 50 }),
  });
  const body = (await res.body.json()) as { message: string };
  expect(res.statusCode).toBe(409);
  expect(body.message).toContain("no account carol");
  expect(await ledger()).toEqual(before);
});
