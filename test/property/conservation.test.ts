/**
 * The money-conservation property: a few hundred random transfers among a handful of the bank
 * example's accounts, by every mode (saga, TCC, XA on Postgres, message, workflow), the coordinator's
 * branch calls and the SDK's own going through a proxy that answers FAILURE or ONGOING in the branch's
 * place, drops connections before or after forwarding, delivers requests twice, replays them later
 * and holds them back (so they arrive out of order); the coordinator is stopped and started again on
 * the same store in the middle. Afterwards every transfer took effect entirely or not at all, as its
 * final status says; the total is unchanged; no account is below zero or holds frozen funds.
 *
 * Seeded: DTX_PROPERTY_SEED=<n> replays a run (the transfers and the fault draws; the interleaving
 * of concurrent calls may differ); the seed is in every failure's message. DTX_PROPERTY_TRANSFERS
 * changes how many transfers run (default 120). The bank waits LOCK_WAIT_MS for a row lock.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accounts } from "../../examples/bank/accounts";
import { httpBank } from "../../examples/bank/endpoints";
import { registerTransferWorkflow } from "../../examples/bank/transfer-workflow";
import { Coordinator, DEFAULT_BARRIER_TABLE, httpBranchRoutes } from "../../src/client";
import { prng } from "../fault/support/transfer-load";
import { TestCoordinator } from "../support/coordinator";
import { FaultProxy, type Fault, type ProxiedRequest } from "../support/fault-proxy";
import { listenHttp } from "../support/listen";
import { onPostgres } from "../support/prepared-transactions";
import { startTestBank } from "../support/test-bank";
import { barrierRows, effects, MODES, runTransfer, type PlannedTransfer } from "../support/transfer-modes";

const given = Number(process.env.DTX_PROPERTY_SEED);
const SEED = Number.isInteger(given) && given > 0 ? given : Math.floor(Math.random() * 2 ** 31) + 1;
const TRANSFERS = Number(process.env.DTX_PROPERTY_TRANSFERS) || 120;
const CONCURRENCY = 8;
/**
 * The bank's row-lock wait: short, so a branch stuck behind a prepared XA branch's locks answers
 * ONGOING soon (an XA or TCC transfer then rolls back, a saga's branch is called again later)
 * instead of holding its connection for the default 3 s.
 */
const LOCK_WAIT_MS = 100;
const OPENING: Record<string, number> = Object.fromEntries([..."abcdefgh"].map((n) => [n, 1000]));
const NAMES = Object.keys(OPENING);
const FINAL = new Set(["succeed", "failed"]);
const modes = MODES.filter((m) => m !== "xa" || onPostgres);

/** The faults a request may meet, with their odds; FAILURE never on a check-back, where it would be a lie. */
function faultPicker(random: () => number): (r: ProxiedRequest) => Fault {
  const odds: [Fault, number][] = [
    ["failBefore", 0.04],
    ["ongoingBefore", 0.04],
    ["dropBefore", 0.03],
    ["failAfter", 0.03],
    ["dropAfter", 0.04],
    ["duplicate", 0.05],
    ["replayLater", 0.06],
    ["delay", 0.05],
  ];
  return (r) => {
    const checkBack = r.path.includes("/QueryPrepared");
    let x = random();
    for (const [fault, p] of odds) {
      if ((x -= p) < 0) {
        const lie = fault === "failBefore" || fault === "failAfter";
        return lie && checkBack ? "pass" : fault;
      }
    }
    return "pass";
  };
}

function plan(random: () => number): PlannedTransfer[] {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  return Array.from({ length: TRANSFERS }, (_, i) => {
    const from = pick(NAMES);
    // now and then an account that does not exist: the credit fails for good
    const to = random() < 0.03 ? "nobody" : pick(NAMES.filter((n) => n !== from));
    return { gid: `prop-${SEED}-${i}`, mode: pick(modes), from, to, amount: 1 + Math.floor(random() * 400) };
  });
}

const name =
  `${TRANSFERS} random transfers by ${modes.join(", ")} under injected faults and a coordinator restart ` +
  `conserve money${onPostgres ? "" : " (XA skipped on PGlite: it has no prepared transactions)"}`;

test(
  name,
  async () => {
    const random = prng(SEED);
    const transfers = plan(random);
    const dataDir = mkdtempSync(join(tmpdir(), "dtx-property-"));
    const store = { store: { dataDir } };
    let dtx = await TestCoordinator.start(store);
    const port = dtx.app.ports[0]!;
    const sdk = Coordinator.http(dtx.base, { timeout: "10s", branchTimeout: "5s" });
    const testBank = await startTestBank({ accounts: OPENING, coordinator: sdk, lockWaitMs: LOCK_WAIT_MS });
    const bankOrigin = new URL(testBank.bank.base).origin;
    const delay = () => 20 + Math.floor(random() * 300);
    const bankProxy = await FaultProxy.start(bankOrigin, faultPicker(random), delay);
    const bank = httpBank(`${bankProxy.base}/api/bank`);
    // the coordinator resumes unfinished workflows through a proxy too
    let routes: ReturnType<typeof httpBranchRoutes> | undefined;
    const resumeServer = await listenHttp((req, res) => routes!(req, res));
    const resumeProxy = await FaultProxy.start(
      `http://127.0.0.1:${resumeServer.port}`,
      faultPicker(random),
      delay,
    );
    const workflows = sdk.workflows(`${resumeProxy.base}/resume`);
    registerTransferWorkflow(workflows, bank);
    routes = httpBranchRoutes({ "/resume": workflows.resumeHandler() });
    const table = testBank.barrierTable ?? DEFAULT_BARRIER_TABLE;
    const deps = {
      sdk,
      bank,
      pool: testBank.bank.pool,
      barrierTable: testBank.barrierTable,
      lockWaitMs: LOCK_WAIT_MS,
      workflows,
    };
    try {
      // the transfers, CONCURRENCY at a time; the coordinator restarts when half of them began.
      // Meanwhile its recovery runs as its worker would (what is due now, leases honoured): phase
      // 2s that failed are retried, and prepared XA branches do not hold their locks for long.
      let next = 0;
      let restarting: Promise<void> | undefined;
      const restart = async () => {
        await dtx.app.close();
        dtx = await TestCoordinator.start({ ...store, server: { ports: [port] } }, dtx.schema);
        restarting = undefined;
      };
      let sending = true;
      const recovery = (async () => {
        while (sending) {
          await (restarting ?? dtx.cron({ lookAheadMs: 0 }).catch(() => undefined));
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < transfers.length) {
            const i = next++;
            if (i === transfers.length >> 1) restarting = restart();
            await restarting; // the transfers in flight meet the restart; the next ones wait for it
            await runTransfer(deps, transfers[i]!).catch(() => undefined); // the outcome is checked below
          }
        }),
      );
      sending = false;
      await recovery;

      // the coordinator finishes what is left (faults still injected for a while, then not)
      const statuses = new Map<string, string | undefined>();
      for (let round = 0; ; round++) {
        if (round === 5) {
          bankProxy.calm();
          resumeProxy.calm();
        }
        await dtx.settled();
        await bankProxy.idle();
        await resumeProxy.idle();
        // each round further ahead: a retry is at most retry.maxInterval (1 h) after the last one
        await dtx.cron({ forwardMs: (round + 1) * 7_200_000 });
        await dtx.settled();
        for (const t of transfers) statuses.set(t.gid, await dtx.status(t.gid));
        const open = [...statuses.values()].filter((s) => s !== undefined && !FINAL.has(s));
        if (open.length === 0) break;
        if (round > 30)
          throw new Error(`transfers still unfinished:\n${await unfinished(dtx, transfers, statuses)}`);
      }

      // late deliveries (replays, held requests) land before the books are read
      await bankProxy.idle();
      await resumeProxy.idle();
      const violations = await check(transfers, statuses, deps.pool, table);
      for (const v of violations.filter((v) => v.startsWith(`${modes.find((m) => v.startsWith(m))} prop-`))) {
        const gid = v.split(" ")[1]!;
        const { transaction, branches } = await dtx.query(gid);
        violations.push(
          `${gid}: ${transaction.rollback_reason} ${JSON.stringify(branches.map((b: Record<string, unknown>) => [b.branch_id, b.op, b.status, b.attempts, b.last_outcome, b.last_answer]))}`,
        );
      }
      if (violations.length > 0) {
        throw new Error(
          `DTX_PROPERTY_SEED=${SEED}: ${violations.length} violations (faults met: ${JSON.stringify(bankProxy.counts)})\n` +
            violations.join("\n"),
        );
      }
    } catch (err) {
      const e = err as Error;
      if (!e.message.includes(`DTX_PROPERTY_SEED=${SEED}`))
        e.message = `DTX_PROPERTY_SEED=${SEED}: ${e.message}`;
      throw e;
    } finally {
      await bankProxy.close();
      if (onPostgres) await rollbackLeftovers(testBank.bank.pool);
      await resumeProxy.close();
      await resumeServer.close();
      await testBank.close();
      await sdk.close();
      await dtx.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
  TRANSFERS * 1000, // a second a transfer: 120 s by default, for a run that takes seconds on an idle machine
);

/** Every way the final state breaks the property, one line each. */
async function check(
  transfers: PlannedTransfer[],
  statuses: Map<string, string | undefined>,
  pool: import("pg").Pool,
  table: string,
): Promise<string[]> {
  const out: string[] = [];
  const expected = { ...OPENING };
  const rows = await barrierRows(pool, table);
  for (const t of transfers) {
    const status = statuses.get(t.gid);
    const done = status === "succeed";
    if (done) {
      expected[t.from]! -= t.amount;
      expected[t.to]! += t.amount;
    }
    const [debited, credited] = effects(t.mode, rows.get(t.gid)) ?? [done, done];
    if (debited !== done || credited !== done) {
      out.push(
        `${t.mode} ${t.gid} ${t.from}→${t.to} ${t.amount} is ${status ?? "unknown"} but debited=${debited} ` +
          `credited=${credited}; barrier ${JSON.stringify([...(rows.get(t.gid) ?? [])])}`,
      );
    }
  }
  const after = await accounts(pool);
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const openingTotal = total(Object.values(OPENING));
  const afterTotal = total(after.map((a) => a.balance));
  if (afterTotal !== openingTotal) out.push(`total ${afterTotal}, opened with ${openingTotal}`);
  for (const a of after) {
    if (a.balance < 0) out.push(`${a.name} is below zero: ${a.balance}`);
    if (a.frozen !== 0) out.push(`${a.name} has ${a.frozen} frozen`);
    if (a.balance !== expected[a.name]) {
      out.push(`${a.name} holds ${a.balance}, the succeeded transfers make it ${expected[a.name]}`);
    }
  }
  if (onPostgres) {
    const left = await pool.query("select gid from pg_prepared_xacts where gid like $1", [`prop-${SEED}-%`]);
    for (const r of left.rows as { gid: string }[]) out.push(`prepared transaction ${r.gid} left behind`);
  }
  return out;
}

/** Rolls back this run's prepared transactions still there (after a failure), so its schema can go. */
async function rollbackLeftovers(pool: import("pg").Pool): Promise<void> {
  const { rows } = await pool.query<{ gid: string }>("select gid from pg_prepared_xacts where gid like $1", [
    `prop-${SEED}-%`,
  ]);
  for (const { gid } of rows) await pool.query(`rollback prepared '${gid}'`);
}

/** The transfers not final, each with its last failed branch call (the coordinator's own account). */
async function unfinished(
  dtx: TestCoordinator,
  transfers: PlannedTransfer[],
  statuses: Map<string, string | undefined>,
): Promise<string> {
  const lines: string[] = [];
  for (const t of transfers) {
    const status = statuses.get(t.gid);
    if (status === undefined || FINAL.has(status)) continue;
    const { transaction } = await dtx.query(t.gid);
    lines.push(`${t.mode} ${t.gid} ${status}: ${JSON.stringify(transaction.last_failure ?? null)}`);
  }
  return lines.join("\n");
}
