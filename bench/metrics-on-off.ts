/**
 * `BENCH_METRICS_ROUNDS=N`: what recording the Prometheus metrics costs, measured in one run. After the
 * selected workloads, the main workload runs N rounds on dtx with `DTX_METRICS_ENABLED=true` and with
 * `false`, each a coordinator process of its own on a fresh store, in the order on, off, then off, on,
 * … (so a drift of the machine's load weighs on both settings alike). Its rows are labelled
 * "metrics on" / "metrics off"; a note gives the means and what recording costs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../src/server/config";
import { startDtx, type StoreTarget } from "./coordinators";
import type { Row } from "./report";
import { runWorkload, settledSnapshot, type BenchContext } from "./run-workload";
import { MAIN_WORKLOAD, WORKLOADS } from "./workloads";

/** `BENCH_METRICS_ROUNDS` (default 0: not run); a ConfigError naming the variable on a bad value. */
export function metricsRounds(env: NodeJS.ProcessEnv): number {
  const raw = (env.BENCH_METRICS_ROUNDS ?? "").trim();
  if (raw === "") return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConfigError(`BENCH_METRICS_ROUNDS=${JSON.stringify(raw)}: expected a whole number ≥ 0`);
  }
  return n;
}

/** A fresh store for one coordinator (gids repeat from run to run), and how to remove it. */
function freshStore(ctx: BenchContext, run: number): { store: StoreTarget; remove: () => Promise<unknown> } {
  if (ctx.counters) {
    const schema = `bench_${ctx.runId}_metrics_${run}`;
    return {
      store: { url: ctx.settings.databaseUrl, schema },
      remove: () => ctx.counters!.query(`drop schema if exists "${schema}" cascade`),
    };
  }
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `dtx-bench-${ctx.runId}-metrics-${run}-`));
  return { store: { dataDir }, remove: async () => rmSync(dataDir, { recursive: true, force: true }) };
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Runs the rounds, adds their rows to `rows` and the summary to the notes. */
export async function runMetricsOnOff(ctx: BenchContext, rounds: number, rows: Row[]): Promise<void> {
  if (rounds === 0) return;
  const main = WORKLOADS.find((w) => w.key === MAIN_WORKLOAD)!;
  const measured = { on: [] as Row[], off: [] as Row[] };
  let run = 0;
  for (let round = 0; round < rounds; round++) {
    for (const setting of round % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const)) {
      if (ctx.stopped()) return;
      const { store, remove } = freshStore(ctx, run++);
      try {
        const dtx = await startDtx(store, ctx.runId, { DTX_METRICS_ENABLED: String(setting === "on") });
        try {
          console.log(`running ${main.label} on dtx, metrics ${setting} (round ${round + 1}) ...`);
          const mark = await settledSnapshot(ctx);
          const label = `${main.label}, metrics ${setting}`;
          const { row } = await runWorkload(ctx, dtx, { ...main, label }, mark);
          console.log(`  ${row.sagasPerSec.toFixed(0)} sagas/s, p99 ${row.p99.toFixed(1)} ms`);
          rows.push(row);
          measured[setting].push(row);
        } finally {
          await dtx.child.stop();
        }
      } finally {
        await remove();
      }
    }
  }
  const rate = (rs: Row[]) => mean(rs.map((r) => r.sagasPerSec));
  const cpu = (rs: Row[]) => mean(rs.map((r) => r.cpu.coordinator));
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const [on, off] = [measured.on, measured.off];
  ctx.notes.push(
    `Metrics on vs off, ${rounds} round${rounds > 1 ? "s" : ""} of ${main.label}: ` +
      `${rate(on).toFixed(0)} vs ${rate(off).toFixed(0)} sagas/s (recording costs ` +
      `${pct(1 - rate(on) / rate(off))} of throughput), coordinator CPU ${cpu(on).toFixed(3)} vs ` +
      `${cpu(off).toFixed(3)} ms/saga (${pct(cpu(on) / cpu(off) - 1)} with metrics); means over the rounds.`,
  );
}
