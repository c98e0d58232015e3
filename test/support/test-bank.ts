import type { Coordinator } from "../../src/client";
import { BankService } from "../../examples/bank/bank-service";
import { openTestDb, type TestDb } from "./test-db";

/** The sample bank for a test file: its own database (test-db.ts), loopback ports 0. */
export interface TestBank {
  bank: BankService;
  db: TestDb;
  /** The barrier table the bank uses (undefined: dtm's default). */
  barrierTable: string | undefined;
  close(): Promise<void>;
}

/** Starts the bank (alice and bob with 1000 each, unless `accounts`) on a database of its own. */
export async function startTestBank(
  opts: { coordinator?: Coordinator; accounts?: Record<string, number>; lockWaitMs?: number } = {},
): Promise<TestBank> {
  const db = await openTestDb();
  const barrierTable = db.kind === "postgres" ? `${db.schema}.barrier` : undefined;
  const bank = await BankService.start({ port: 0, grpcPort: 0, pool: db.pool, barrierTable, ...opts });
  return {
    bank,
    db,
    barrierTable,
    close: async () => {
      await bank.close();
      await db.close();
    },
  };
}
