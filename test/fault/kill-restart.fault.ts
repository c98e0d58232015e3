/**
 * kill -9 of a coordinator under load, three times in a row, each at a random point, restarted on the
 * same port and database: no acknowledged transfer lost, none half-done, money conserved. The takeover
 * time is from the restart's "dtx started" to the last saga final (no load meanwhile).
 */
import type { CoordinatorProcess } from "../support/coordinator-process";
import { startFaultBank, type FaultBank } from "./support/fault-bank";
import { faultSeed, killRestartScenario, postgresUrl, scenarioSchema } from "./support/scenario";

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
  await killRestartScenario({
    scenario: "kill -9 x3, one coordinator, Postgres",
    env: store.env,
    bank,
    seed,
    kills: KILLS,
    clients: CLIENTS,
    gids: "k9",
    started: (p) => (proc = p),
  });
});
