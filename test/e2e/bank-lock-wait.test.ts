/**
 * The sample bank's `lockWaitMs`: a branch whose account row a prepared XA branch holds locked waits
 * that long, rolls back and answers ONGOING (the coordinator calls again later; an XA or TCC
 * transaction's own call aborts it), and the call repeated once the lock is gone does its work once.
 * Postgres only: holding the row needs a prepared transaction (PGlite has none).
 */
import { accounts } from "../../examples/bank/accounts";
import { BankService } from "../../examples/bank/bank-service";
import { SKIP, lockRowInPreparedTransaction, pgTest } from "../support/prepared-transactions";
import { startTestBank, type TestBank } from "../support/test-bank";

let testBank: TestBank;

beforeAll(async () => {
  testBank = await startTestBank({ lockWaitMs: 150 });
});
afterAll(async () => {
  await testBank?.close();
});

function branchCall(operation: string, gid: string, op: string, transType: string) {
  const url = `${testBank.bank.base}/${operation}?gid=${gid}&trans_type=${transType}&branch_id=01&op=${op}`;
  return fetch(url, { method: "POST", body: JSON.stringify({ user: "alice", amount: 30 }) });
}

pgTest.each([
  ["a saga's debit", "TransOut", "action", "saga"],
  ["a TCC try", "TransOutTry", "try", "tcc"],
])(
  `%s behind a prepared branch's row lock answers ONGOING after lockWaitMs, and runs once retried ${SKIP}`,
  async (_, operation, op, transType) => {
    const gid = `bank-lock-${operation}-${testBank.db.schema}`;
    const release = await lockRowInPreparedTransaction(testBank.db.pool, "alice", `${gid}-holder`);
    let blocked: Response;
    try {
      blocked = await branchCall(operation, gid, op, transType);
    } finally {
      await release();
    }
    expect(blocked.status).toBe(425);
    const body = (await blocked.json()) as { dtm_result: string; message: string };
    expect(body.dtm_result).toBe("ONGOING");
    expect(body.message).toContain("stayed locked for 150 ms");
    const alice = async () => (await accounts(testBank.bank.pool)).find((a) => a.name === "alice")!;
    const before = await alice();

    const retried = await branchCall(operation, gid, op, transType);
    expect(retried.status).toBe(200);
    const again = await branchCall(operation, gid, op, transType);
    expect(again.status).toBe(200);
    // the debit takes 30 off the balance, the try freezes 30 — once
    const moved = transType === "saga" ? { balance: -30, frozen: 0 } : { balance: 0, frozen: 30 };
    expect(await alice()).toEqual({
      name: "alice",
      balance: before.balance + moved.balance,
      frozen: before.frozen + moved.frozen,
    });
  },
);

test.each([0, -5, 1.5, Number.NaN])("lockWaitMs %p is refused, naming the option", async (lockWaitMs) => {
  await expect(BankService.start({ port: 0, grpcPort: 0, lockWaitMs })).rejects.toThrow(
    /lockWaitMs must be a positive integer/,
  );
});
