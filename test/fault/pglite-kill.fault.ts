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
import { OPENING, startFaultBank, type FaultBank } from "./support/fault-bank";
import { recordFigures } from "./support/figures";
import { whenAllFinal } from "./support/ledger-check";
import { faultSeed, finalLedger, startCoordinator } from "./support/scenario";
import { prng, TransferLoad } from "./support/transfer-load";

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
  const random = prng(seed);
  const env = { DTX_STORE_URL: "", DTX_STORE_DATA_DIR: dataDir };
  proc = await startCoordinator(env);
  const port = proc.port;
  const opening = await bank.balances();
  const load = new TransferLoad("pgl", bank.base, Object.keys(OPENING), seed);
  const takeoverMs: number[] = [];
  load.start([proc.base], CLIENTS);
  for (let k = 0; k < KILLS; k++) {
    await load.until({ ms: 400 + random() * 900 });
    await proc.kill();
    await load.stop();
    proc = await startCoordinator({ ...env, DTX_SERVER_PORTS: String(port) });
    const ready = Date.now();
    takeoverMs.push((await whenAllFinal(proc.base)) - ready);
    load.start([proc.base], CLIENTS);
  }
  await load.until({ ms: 400 });
  await load.stop();
  const report = await finalLedger(proc.base, load, bank, opening);
  recordFigures({
    scenario: "PGlite store, kill -9 x2",
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
  expect(load.acknowledged.size).toBeGreaterThan(0);
});
