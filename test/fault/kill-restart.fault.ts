/**
 * kill -9 of a coordinator under load, three times in a row, each at a random point, restarted on the
 * same port and database: no acknowledged transfer lost, none half-done, money conserved. The takeover
 * time is from the restart's "dtx started" to the last saga final (no load meanwhile).
 */
import type { CoordinatorProcess } from "../support/coordinator-process";
import { startFaultBank, type FaultBank } from "./support/fault-bank";
import { recordFigures } from "./support/figures";
import { whenAllFinal } from "./support/ledger-check";
import { faultSeed, finalLedger, postgresUrl, scenarioSchema, startCoordinator } from "./support/scenario";
import { prng, TransferLoad } from "./support/transfer-load";
import { OPENING } from "./support/fault-bank";

const KILLS = 3;
const CLIENTS = 8;
const seed = faultSeed();
const store = scenarioSchema(postgresUrl());
let bank: FaultBank;
let proc: CoordinatorProcess | undefined;

beforeAll(async () => {
  bank = await startFaultBank();
});
afterAll(async () => {
  await proc?.kill().catch(() => undefined);
  await bank?.close();
  await store.drop();
});

test(`kill -9 under load, ${KILLS} times: 0 acknowledged lost, 0 half-done, money conserved (seed ${seed})`, async () => {
  const random = prng(seed);
  proc = await startCoordinator(store.env);
  const port = proc.port;
  const opening = await bank.balances();
  const load = new TransferLoad("k9", bank.base, Object.keys(OPENING), seed);
  const takeoverMs: number[] = [];
  load.start([proc.base], CLIENTS);
  for (let k = 0; k < KILLS; k++) {
    await load.until({ ms: 300 + random() * 900 });
    await proc.kill();
    await load.stop();
    proc = await startCoordinator({ ...store.env, DTX_SERVER_PORTS: String(port) });
    const ready = Date.now();
    takeoverMs.push((await whenAllFinal(proc.base)) - ready);
    load.start([proc.base], CLIENTS);
  }
  await load.until({ ms: 500 });
  await load.stop();
  const report = await finalLedger(proc.base, load, bank, opening);
  recordFigures({
    scenario: "kill -9 x3, one coordinator, Postgres",
    transactions: report.stored,
    acknowledged: load.acknowledged.size,
    kills: KILLS,
    takeoverMs,
    requests: load.tried.size,
    lost: report.lost.length,
    halfDone: report.halfDone.length,
    notes: `seed ${seed}; restart → last saga final`,
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
});
