/**
 * The bank example on the SDK against a real coordinator: a transfer as a saga, as TCC and as a
 * message, over HTTP and over gRPC, succeeding and, to an account that does not exist, rolled back
 * (or never sent) — the money conserved, nothing left frozen.
 */
import { request } from "undici";
import { accounts } from "../../examples/bank/accounts";
import type { BankService } from "../../examples/bank/bank-service";
import { grpcBank, httpBank, type BankEndpoint } from "../../examples/bank/endpoints";
import { transferByMessage } from "../../examples/bank/transfer-msg";
import { transferBySaga } from "../../examples/bank/transfer-saga";
import { transferByTcc } from "../../examples/bank/transfer-tcc";
import { Coordinator, isBranchFailure, isCoordinatorError } from "../../src/client";
import { TestCoordinator } from "../support/coordinator";
import { startTestBank, type TestBank } from "../support/test-bank";

let dtx: TestCoordinator;
let testBank: TestBank;
let bank: BankService;
const coordinators: Record<string, Coordinator> = {};
const endpoints: Record<string, BankEndpoint> = {};

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  coordinators.http = Coordinator.http(dtx.base);
  coordinators.grpc = Coordinator.grpc(dtx.grpcTarget);
  // the bank sends its messages through the test coordinator
  testBank = await startTestBank({ accounts: { alice: 1000, bob: 1000 }, coordinator: coordinators.http });
  bank = testBank.bank;
  endpoints.http = httpBank(bank.base);
  endpoints.grpc = grpcBank(bank.grpcTarget);
});
afterAll(async () => {
  await testBank?.close();
  await Promise.all(Object.values(coordinators).map((c) => c.close()));
  await dtx?.close();
});

/** Total money and frozen amounts: a transfer never creates, destroys or strands money. */
async function ledger(): Promise<{ total: number; frozen: number; balances: Record<string, number> }> {
  const all = await accounts(bank.pool);
  return {
    total: all.reduce((n, a) => n + a.balance, 0),
    frozen: all.reduce((n, a) => n + a.frozen, 0),
    balances: Object.fromEntries(all.map((a) => [a.name, a.balance])),
  };
}

describe.each(["http", "grpc"])("over %s", (protocol) => {
  const dtxOf = () => coordinators[protocol]!;
  const bankOf = () => endpoints[protocol]!;

  test("a saga transfer moves the money", async () => {
    const before = (await ledger()).balances;
    const gid = await transferBySaga(dtxOf(), bankOf(), "alice", "bob", 30);
    expect(await dtx.status(gid)).toBe("succeed");
    expect((await ledger()).balances).toEqual({ alice: before.alice! - 30, bob: before.bob! + 30 });
  });

  test("a saga transfer to an account that does not exist is compensated", async () => {
    const before = await ledger();
    const err = await transferBySaga(dtxOf(), bankOf(), "alice", "carol", 50).catch((e: unknown) => e);
    expect(isCoordinatorError(err) && err.result).toBe("FAILURE");
    expect((err as Error).message).toContain("no account carol");
    expect(await ledger()).toEqual(before);
  });

  test("a saga transfer beyond the balance fails at the debit and changes nothing", async () => {
    const before = await ledger();
    const err = await transferBySaga(dtxOf(), bankOf(), "alice", "bob", 1_000_000).catch((e: unknown) => e);
    expect((err as Error).message).toContain("insufficient funds for alice");
    expect(await ledger()).toEqual(before);
  });

  test("a TCC transfer freezes, then confirms", async () => {
    const before = (await ledger()).balances;
    const gid = await transferByTcc(dtxOf(), bankOf(), "bob", "alice", 20);
    expect(await dtx.status(gid)).toBe("succeed");
    expect(await ledger()).toEqual({
      total: before.alice! + before.bob!,
      frozen: 0,
      balances: { alice: before.alice! + 20, bob: before.bob! - 20 },
    });
  });

  test("a TCC transfer to an account that does not exist is cancelled: nothing stays frozen", async () => {
    const before = await ledger();
    const err = await transferByTcc(dtxOf(), bankOf(), "bob", "carol", 20).catch((e: unknown) => e);
    expect(isBranchFailure(err)).toBe(true);
    expect((err as Error).message).toContain("no account carol");
    expect(await ledger()).toEqual(before);
  });
  /** Over HTTP: the bank's TransferByMessage route; over gRPC: the message through dtmgimp.Dtm, its step and check-back gRPC. */
  async function sendByMessage(from: string, to: string, amount: number): Promise<string> {
    if (protocol === "grpc") {
      const barrier = { table: testBank.barrierTable };
      return transferByMessage(dtxOf(), bankOf(), bank.pool, { from, to, amount }, barrier);
    }
    const res = await request(`${bank.base}/TransferByMessage`, {
      method: "POST",
      body: JSON.stringify({ from, to, amount }),
    });
    const body = (await res.body.json()) as { gid?: string; message?: string };
    if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${body.message}`);
    return body.gid!;
  }

  test("a transfer by message: debited in the bank's transaction, credited when delivered", async () => {
    const before = (await ledger()).balances;
    const gid = await sendByMessage("alice", "bob", 15);
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("succeed");
    expect((await dtx.query(gid)).transaction.protocol).toBe(protocol);
    expect((await ledger()).balances).toEqual({ alice: before.alice! - 15, bob: before.bob! + 15 });
  });

  test("a transfer by message to an account that does not exist is refused and nothing is sent", async () => {
    const before = await ledger();
    const failedMessages = async () =>
      (await dtx.get("/api/dtmsvr/all?transType=msg&status=failed")).body.transactions.length as number;
    const failedBefore = await failedMessages();
    await expect(sendByMessage("alice", "carol", 15)).rejects.toThrow(/no account carol/);
    expect(await ledger()).toEqual(before);
    // the prepared message was aborted: it never delivers
    expect(await failedMessages()).toBe(failedBefore + 1);
  });
});
