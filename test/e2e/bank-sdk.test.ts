/**
 * The bank example on the SDK against a real coordinator: a transfer as a saga and as TCC, over HTTP
 * and over gRPC, succeeding and, to an account that does not exist, rolled back — the money
 * conserved, nothing left frozen.
 */
import { accounts } from "../../examples/bank/accounts";
import type { BankService } from "../../examples/bank/bank-service";
import { grpcBank, httpBank, type BankEndpoint } from "../../examples/bank/endpoints";
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
  testBank = await startTestBank({ accounts: { alice: 1000, bob: 1000 } });
  bank = testBank.bank;
  coordinators.http = Coordinator.http(dtx.base);
  coordinators.grpc = Coordinator.grpc(dtx.grpcTarget);
  endpoints.http = httpBank(bank.base);
  endpoints.grpc = grpcBank(bank.grpcTarget);
});
afterAll(async () => {
  await Promise.all(Object.values(coordinators).map((c) => c.close()));
  await testBank?.close();
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
});
