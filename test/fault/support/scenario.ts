import pg from "pg";
import { CoordinatorProcess } from "../../support/coordinator-process";
import { newSchemaName } from "../../support/coordinator";
import { checkLedger, listAll, whenAllFinal, type LedgerReport } from "./ledger-check";
import { OPENING, type FaultBank } from "./fault-bank";
import { recordFigures, type FaultFigures } from "./figures";
import { prng, TransferLoad } from "./transfer-load";

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

/** What a scenario says of itself in the figures table; `requests` defaults to the transfers tried. */
export type ScenarioFigures = Pick<FaultFigures, "scenario" | "kills" | "takeoverMs" | "notes"> & {
  requests?: number;
};

/**
 * The end of every fault scenario: waits for every transaction to be final (asking `base`), records
 * the scenario's figures, and expects what each promises — no acknowledged transfer lost, none
 * half-done, no transaction the load did not send, money conserved, every acknowledged one stored,
 * and some load acknowledged at all.
 */
export async function expectLedgerKept(
  base: string,
  load: TransferLoad,
  bank: FaultBank,
  opening: Record<string, number>,
  seed: number,
  figures: ScenarioFigures,
): Promise<void> {
  const report = await finalLedger(base, load, bank, opening);
  recordFigures({
    requests: load.tried.size,
    ...figures,
    transactions: report.stored,
    acknowledged: load.acknowledged.size,
    lost: report.lost.length,
    halfDone: report.halfDone.length,
  });
  expect({ seed, lost: report.lost, halfDone: report.halfDone, strangers: report.strangers }).toEqual({
    seed,
    lost: [],
    halfDone: [],
    strangers: [],
  });
  expect(report.totalAfter).toBe(report.totalBefore);
  expect(report.stored).toBeGreaterThanOrEqual(load.acknowledged.size);
  expect(load.acknowledged.size).toBeGreaterThan(0);
}

/**
 * With `load` running on `proc`, `kills` times: waits for a random point (5 to 40 more acknowledged
 * transfers), kills the coordinator with -9, stops the load, restarts the coordinator on the same port
 * with `env`, times its takeover — from its "dtx started" to the last saga final, with no load
 * meanwhile — and starts the load again on it. `restarted` learns each new process (to kill at the end).
 *
 * @returns each takeover's time (ms)
 */
async function killAndRestart(
  proc: CoordinatorProcess,
  env: Record<string, string>,
  load: TransferLoad,
  opts: { kills: number; clients: number; random: () => number },
  restarted: (p: CoordinatorProcess) => void,
): Promise<number[]> {
  const takeoverMs: number[] = [];
  for (let k = 0; k < opts.kills; k++) {
    await load.until({ acknowledged: 5 + Math.floor(opts.random() * 36) });
    await proc.kill();
    await load.stop();
    proc = await startCoordinator({ ...env, DTX_SERVER_PORTS: String(proc.port) });
    restarted(proc);
    const ready = Date.now();
    takeoverMs.push((await whenAllFinal(proc.base)) - ready);
    load.start([proc.base], opts.clients);
  }
  return takeoverMs;
}

/**
 * The scenario of one coordinator killed with -9 under load and restarted on the same port and store
 * (`env`), `kills` times at random points, then checked as every scenario is ({@link expectLedgerKept}).
 * `started` learns each coordinator process (to kill at the end, whatever happens).
 */
export async function killRestartScenario(opts: {
  scenario: string;
  env: Record<string, string>;
  bank: FaultBank;
  seed: number;
  kills: number;
  clients: number;
  /** The gids' prefix. */
  gids: string;
  started: (p: CoordinatorProcess) => void;
}): Promise<void> {
  const { env, bank, seed, kills, clients } = opts;
  let proc = await startCoordinator(env);
  opts.started(proc);
  const opening = await bank.balances();
  const load = new TransferLoad(opts.gids, bank.base, Object.keys(OPENING), seed);
  load.start([proc.base], clients);
  const takeoverMs = await killAndRestart(proc, env, load, { kills, clients, random: prng(seed) }, (p) => {
    proc = p;
    opts.started(p);
  });
  await load.until({ acknowledged: 10 });
  await load.stop();
  await expectLedgerKept(proc.base, load, bank, opening, seed, {
    scenario: opts.scenario,
    kills,
    takeoverMs,
    notes: `seed ${seed}; restart → last saga final`,
  });
}

/** The figures' seed: DTX_TEST_FAULT_SEED, or a fresh one (printed with every failure). */
export function faultSeed(): number {
  const given = Number(process.env.DTX_TEST_FAULT_SEED);
  return Number.isInteger(given) && given > 0 ? given : Math.floor(Math.random() * 2 ** 31) + 1;
}
