/**
 * Postgres restarted under load (a private cluster, `pg_ctl restart -m fast`): meanwhile the
 * coordinator answers errors (503 with Retry-After, never a hang: no request reaches the client's 30 s
 * timeout), reconnects by itself, and loses nothing acknowledged; money conserved.
 */
import type { CoordinatorProcess } from "../support/coordinator-process";
import { OPENING, startFaultBank, type FaultBank } from "./support/fault-bank";
import { expectLedgerKept, faultSeed, startCoordinator } from "./support/scenario";
import { PrivatePostgres } from "./support/private-postgres";
import { TransferLoad } from "./support/transfer-load";

const CLIENTS = 8;
const seed = faultSeed();
let bank: FaultBank;
let db: PrivatePostgres;
let proc: CoordinatorProcess | undefined;

beforeAll(async () => {
  db = await PrivatePostgres.start();
  bank = await startFaultBank();
});
afterAll(async () => {
  await proc?.kill().catch(() => undefined);
  await bank?.close();
  db?.stop();
});

test(`Postgres restarted under load: errors meanwhile, not hangs; 0 acknowledged lost (seed ${seed})`, async () => {
  proc = await startCoordinator({ DTX_STORE_URL: db.url });
  const opening = await bank.balances();
  const load = new TransferLoad("pgr", bank.base, Object.keys(OPENING), seed);
  load.start([proc.base], CLIENTS);
  await load.until({ acknowledged: 30 });
  const ackedBefore = load.acknowledged.size;
  await db.restart();
  const restarted = Date.now();
  // it serves again on its own: acknowledgements resume
  await load.until({ acknowledged: 20, ms: 120_000 });
  const backAfterMs = Date.now() - restarted;
  await load.stop();
  await expectLedgerKept(proc.base, load, bank, opening, seed, {
    scenario: "Postgres restarted under load",
    kills: 0,
    takeoverMs: [],
    requests: load.errorCount,
    notes: `seed ${seed}; error answers meanwhile: ${JSON.stringify(Object.fromEntries(load.errors))}; acknowledging again ${backAfterMs} ms after the restart`,
  });
  expect(ackedBefore).toBeGreaterThan(0);
  expect(load.acknowledged.size).toBeGreaterThan(ackedBefore);
  // errors, not hangs: every failed request was answered (503) or refused, none timed out
  expect([...load.errors.keys()].filter((k) => /TIMEOUT/i.test(k))).toEqual([]);
  expect([...load.errors.keys()].filter((k) => k.startsWith("HTTP 5") && k !== "HTTP 503")).toEqual([]);
});
