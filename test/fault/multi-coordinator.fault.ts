/**
 * Two and three coordinators on one Postgres, one killed with -9 mid-load and not restarted: the
 * survivors take over its transactions (heartbeat, recovery.deadAfter) — no acknowledged transfer
 * lost, none half-done, money conserved. The takeover time is from the kill to the last saga final.
 */
import type { CoordinatorProcess } from "../support/coordinator-process";
import { OPENING, startFaultBank, type FaultBank } from "./support/fault-bank";
import { whenAllFinal } from "./support/ledger-check";
import {
  expectLedgerKept,
  faultSeed,
  postgresUrl,
  scenarioSchema,
  startCoordinator,
} from "./support/scenario";
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
      // a random point under load: after 10 to 50 acknowledged transfers
      await load.until({ acknowledged: 10 + Math.floor(random() * 41) });
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
      await load.until({ acknowledged: 10 });
      await load.stop();
      await expectLedgerKept(survivors[0].base, load, bank, opening, seed, {
        scenario: `${count} coordinators, one Postgres, one killed -9`,
        kills: 1,
        takeoverMs: [takeoverMs],
        notes: `seed ${seed}; kill → last saga final`,
      });
      for (const s of survivors) await s.stop();
    } finally {
      await store.drop();
    }
  },
);
