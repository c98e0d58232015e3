/**
 * Two and three coordinators on one Postgres, one killed with -9 mid-load and not restarted: the
 * survivors take over its transactions (heartbeat, recovery.deadAfter) — no acknowledged transfer
 * lost, none half-done, money conserved. The takeover time is from the kill to the last saga final.
 */
import type { CoordinatorProcess } from "../support/coordinator-process";
import { OPENING, startFaultBank, type FaultBank } from "./support/fault-bank";
import { recordFigures } from "./support/figures";
import { whenAllFinal } from "./support/ledger-check";
import { faultSeed, finalLedger, postgresUrl, scenarioSchema, startCoordinator } from "./support/scenario";
import { prng, TransferLoad } from "./support/transfer-load";

const CLIENTS = 8;
const seed = faultSeed();
let bank: FaultBank;
const procs: CoordinatorProcess[] = [];

beforeAll(async () => {
  bank = await startFaultBank();
});
afterAll(async () => {
  for (const p of procs) await p.kill().catch(() => undefined);
  await bank?.close();
});

test.each([2, 3])(
  `%i coordinators on one Postgres, one killed -9 mid-load: the others take over (seed ${seed})`,
  async (count) => {
    const store = scenarioSchema(postgresUrl());
    try {
      const random = prng(seed + count);
      const coordinators = await Promise.all(
        Array.from({ length: count }, () => startCoordinator(store.env)),
      );
      procs.push(...coordinators);
      const opening = await bank.balances();
      const load = new TransferLoad(`mc${count}`, bank.base, Object.keys(OPENING), seed + count);
      load.start(
        coordinators.map((c) => c.base),
        CLIENTS,
      );
      await load.until({ ms: 600 + random() * 900 });
      const [victim, ...survivors] = coordinators;
      await victim.kill();
      const killed = Date.now();
      await load.stop();
      const takeoverMs = (await whenAllFinal(survivors[0].base)) - killed;
      // the survivors go on serving
      load.start(
        survivors.map((c) => c.base),
        CLIENTS,
      );
      await load.until({ ms: 500 });
      await load.stop();
      const report = await finalLedger(survivors[0].base, load, bank, opening);
      for (const s of survivors) await s.stop();
      recordFigures({
        scenario: `${count} coordinators, one Postgres, one killed -9`,
        transactions: report.stored,
        acknowledged: load.acknowledged.size,
        kills: 1,
        takeoverMs: [takeoverMs],
        requests: load.tried.size,
        lost: report.lost.length,
        halfDone: report.halfDone.length,
        notes: `seed ${seed}; kill → last saga final`,
      });
      expect({ seed, lost: report.lost, halfDone: report.halfDone, strangers: report.strangers }).toEqual({
        seed,
        lost: [],
        halfDone: [],
        strangers: [],
      });
      expect(report.totalAfter).toBe(report.totalBefore);
      expect(load.acknowledged.size).toBeGreaterThan(0);
    } finally {
      await store.drop();
    }
  },
);
