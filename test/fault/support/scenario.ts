import pg from "pg";
import { CoordinatorProcess } from "../../support/coordinator-process";
import { newSchemaName } from "../../support/coordinator";
import { checkLedger, listAll, whenAllFinal, type LedgerReport } from "./ledger-check";
import type { FaultBank } from "./fault-bank";
import type { TransferLoad } from "./transfer-load";

/** The Postgres the fault suite runs against (CI always gives one). */
export function postgresUrl(): string {
  const url = process.env.DTX_TEST_DATABASE_URL;
  if (!url)
    throw new Error("the fault suite needs DTX_TEST_DATABASE_URL (a Postgres it may create schemas in)");
  return url;
}

/** A fresh schema on `url` for one scenario's coordinators, and how to drop it. */
export function scenarioSchema(url: string): { env: Record<string, string>; drop(): Promise<void> } {
  const schema = newSchemaName();
  return {
    env: { DTX_STORE_URL: url, DTX_STORE_SCHEMA: schema },
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema if exists "${schema}" cascade`);
      await c.end();
    },
  };
}

/** Starts a coordinator process (the real entry point) with quiet logs. */
export function startCoordinator(env: Record<string, string>): Promise<CoordinatorProcess> {
  return CoordinatorProcess.start({ DTX_LOG_LEVEL: "info", ...env });
}

/**
 * Waits for every transaction to be final, then checks the ledger against the load's record and the
 * balances the scenario started from.
 */
export async function finalLedger(
  base: string,
  load: TransferLoad,
  bank: FaultBank,
  opening: Record<string, number>,
): Promise<LedgerReport> {
  await whenAllFinal(base);
  return checkLedger(load, await listAll(base), opening, await bank.balances());
}

/** The figures' seed: DTX_TEST_FAULT_SEED, or a fresh one (printed with every failure). */
export function faultSeed(): number {
  const given = Number(process.env.DTX_TEST_FAULT_SEED);
  return Number.isInteger(given) && given > 0 ? given : Math.floor(Math.random() * 2 ** 31) + 1;
}
