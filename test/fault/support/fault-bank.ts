import { BankService } from "../../../examples/bank/bank-service";
import { Coordinator } from "../../../src/client";
import { openTestDb, type TestDb } from "../../support/test-db";

/** The accounts of a fault scenario: ten, with enough money that no transfer fails for want of it. */
export const OPENING: Record<string, number> = Object.fromEntries(
  Array.from({ length: 10 }, (_, i) => [`acct${i}`, 1_000_000]),
);

/** The sample bank (every branch behind the barrier) on a database of its own, in this process. */
export interface FaultBank {
  bank: BankService;
  /** `http://127.0.0.1:<port>/api/bank` */
  base: string;
  balances(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startFaultBank(): Promise<FaultBank> {
  const db: TestDb = await openTestDb(8);
  const barrierTable = db.kind === "postgres" ? `${db.schema}.barrier` : undefined;
  // never used: the scenarios submit their sagas themselves
  const coordinator = Coordinator.http("http://127.0.0.1:1");
  const bank = await BankService.start({
    port: 0,
    grpcPort: 0,
    pool: db.pool,
    barrierTable,
    accounts: OPENING,
    coordinator,
  });
  return {
    bank,
    base: bank.base,
    balances: () => bank.balances(),
    close: async () => {
      await bank.close();
      await coordinator.close();
      await db.close();
    },
  };
}
