/**
 * The embedded PGlite store killed with -9 mid-load, twice, and restarted on the same data directory:
 * no acknowledged transfer lost, none half-done, money conserved. (PGlite writes through to its files
 * on every commit; a kill -9 loses only what the OS had not been handed — nothing, unless the machine
 * itself goes down: see the README's Guarantees.)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CoordinatorProcess } from "../support/coordinator-process";
import { startFaultBank, type FaultBank } from "./support/fault-bank";
import { faultSeed, killRestartScenario } from "./support/scenario";

const KILLS = 2;
const CLIENTS = 4;
const seed = faultSeed();
const dataDir = mkdtempSync(join(tmpdir(), "dtx-fault-pglite-"));
let bank: FaultBank;
let proc: CoordinatorProcess | undefined;

beforeAll(async () => {
  bank = await startFaultBank();
});
afterAll(async () => {
  await proc?.kill().catch(() => undefined);
  await bank?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

test(`PGlite killed -9 mid-load, ${KILLS} times: 0 acknowledged lost, 0 half-done (seed ${seed})`, async () => {
  await killRestartScenario({
    scenario: "PGlite store, kill -9 x2",
    env: { DTX_STORE_URL: "", DTX_STORE_DATA_DIR: dataDir },
    bank,
    seed,
    kills: KILLS,
    clients: CLIENTS,
    gids: "pgl",
    started: (p) => (proc = p),
  });
});
