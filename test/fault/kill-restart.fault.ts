/**
 * kill -9 of a coordinator under load, three times in a row, each at a random point, restarted on the
 * same port and database: no acknowledged transfer lost, none half-done, money conserved. The takeover
 * time is from the restart's "dtx started" to the last saga final (no load meanwhile).
 */
import type { CoordinatorProcess } from "../support/coordinator-process";
import { startFaultBank, type FaultBank } from "./support/fault-bank";
import {
  expectLedgerKept,
  killAndRestart,
  faultSeed,
  postgresUrl,
  scenarioSchema,
  startCoordinator,
} from "./support/scenario";
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
  proc = await startCoordinator(store.env);
  const opening = await bank.balances();
  const load = new TransferLoad("k9", bank.base, Object.keys(OPENING), seed);
  load.start([proc.base], CLIENTS);
  const takeoverMs = await killAndRestart(
    proc,
    store.env,
    load,
    { kills: KILLS, clients: CLIENTS, random: prng(seed) },
    (p) => (proc = p),
  );
  await load.until({ acknowledged: 10 });
  await load.stop();
  await expectLedgerKept(proc.base, load, bank, opening, seed, {
    scenario: "kill -9 x3, one coordinator, Postgres",
    kills: KILLS,
    takeoverMs,
    notes: `seed ${seed}; restart → last saga final`,
  });
});
