/**
 * dtx saga benchmark, set up as a user deploys: the coordinator (`node dist/src/server/main.js`), the
 * branch service and the load generator each run as a process of their own, and a minimal durable
 * coordinator (the floor, bench/floor-coordinator.ts) runs the main workload in the same run for
 * comparison. Stores on PGlite (a temporary data directory) or on Postgres (a database of its own,
 * `dtx_bench_<id>` on the server of DTX_BENCH_DATABASE_URL, fresh schemas in it). Prints a Markdown
 * table with throughput, latency, commits and CPU per saga of every process, and writes it to
 * bench/last-run.md. See bench/README.md.
 *
 * Everything is on 127.0.0.1; every process, database, schema and directory it created is gone when it
 * exits, also on Ctrl-C (exit 130, nothing written) and on errors (exit 1).
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, loadConfig } from "../src/server/config";
import { openBenchDatabase } from "./bench-database";
import type { BranchAddresses } from "./branch-process";
import { Child, stopAllChildren } from "./children";
import { startDtx, startFloor, type Coordinator, type StoreTarget } from "./coordinators";
import { CpuMeter } from "./cpu-meter";
import { metricsRounds, runMetricsOnOff } from "./metrics-on-off";
import { PgCounters } from "./pg-counters";
import { PostgresCpu } from "./postgres-cpu";
import { codeVersion, prettify, renderMarkdown, totalCpu, type Row } from "./report";
import { runDrain } from "./run-drain";
import { runWorkload, settledSnapshot, type BenchContext } from "./run-workload";
import { readSettings } from "./settings";
import { MAIN_WORKLOAD, WORKLOADS, type WorkloadKey } from "./workloads";

/** Thrown into the run by Ctrl-C (or SIGTERM/SIGHUP). */
class Interrupted extends Error {}

let interrupt: (err: Interrupted) => void = () => undefined;
const interrupted = new Promise<never>((_, reject) => (interrupt = reject));
interrupted.catch(() => undefined);
let stopped = false;
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    // a second Ctrl-C does not wait for the cleanup (the exit hook still kills every child)
    if (stopped) process.exit(130);
    console.error(`${signal}: stopping the run and cleaning up (again to quit at once)`);
    stopped = true;
    interrupt(new Interrupted(signal));
  });
}

/** Runs `keys` in order against `coord`, one settled counter reading between consecutive workloads. */
async function runOn(ctx: BenchContext, coord: Coordinator, keys: WorkloadKey[], rows: Row[]): Promise<void> {
  let mark = await settledSnapshot(ctx);
  for (const key of keys) {
    if (stopped) return;
    const w = WORKLOADS.find((x) => x.key === key)!;
    console.log(`running ${w.label} on ${coord.kind} ...`);
    let row: Row;
    if (key === "drain") {
      const steady = rows.find((r) => r.coordinator === coord.kind && r.workload === WORKLOADS[0]!.label);
      row = await runDrain(ctx, coord, w, steady?.sagasPerSec ?? null);
      mark = await settledSnapshot(ctx);
    } else {
      const out = await runWorkload(ctx, coord, w, mark);
      row = out.row;
      mark = out.after;
    }
    rows.push(row);
    console.log(
      `  ${row.sagas} sagas, ${row.sagasPerSec.toFixed(0)}/s, p50 ${row.p50.toFixed(1)} ms, ` +
        `p99 ${row.p99.toFixed(1)} ms, errors ${row.errors}, commits/saga ` +
        `${row.commitsPerSaga?.toFixed(2) ?? "n/a"}, CPU ms/saga ${totalCpu(row.cpu).toFixed(3)}`,
    );
  }
}

async function run(cleanups: Array<() => Promise<unknown>>): Promise<number> {
  const settings = readSettings(process.env);
  const rounds = metricsRounds(process.env);
  // DTX_* variables configure the coordinator; reading them here reports bad ones before anything starts
  // (with the store the bench gives it: server.workers > 1 needs Postgres)
  const config = loadConfig({ env: { ...process.env, DTX_STORE_URL: settings.databaseUrl } });
  const runId = randomBytes(4).toString("hex");
  const onPostgres = settings.databaseUrl !== "";

  const database = onPostgres ? await openBenchDatabase(settings.databaseUrl, runId) : null;
  if (database) {
    // registered first, run last: once every connection to it has closed
    cleanups.push(() => database.drop());
    settings.databaseUrl = database.url;
  }
  const counters = database ? await PgCounters.open(database.url, `dtx-bench-${runId}-bench`) : null;
  const schemas = { dtx: `bench_${runId}`, floor: `bench_${runId}_floor` };
  if (counters) {
    cleanups.push(() => counters.close());
    // registered now, run once the coordinators have stopped
    cleanups.push(() => counters.query(`drop schema if exists "${schemas.dtx}", "${schemas.floor}" cascade`));
  }
  const storeFor = (kind: "dtx" | "floor"): StoreTarget => {
    if (onPostgres) return { url: settings.databaseUrl, schema: schemas[kind] };
    const dataDir = mkdtempSync(path.join(os.tmpdir(), `dtx-bench-${runId}-${kind}-`));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    return { dataDir };
  };
  const pgCpu = counters ? await PostgresCpu.locate((text) => counters.query(text)) : null;

  cleanups.push(stopAllChildren);
  const branch = Child.fork("branch", path.join(__dirname, "branch-process.js"));
  const addresses = await branch.ready<BranchAddresses>();
  const load = Child.fork("load", path.join(__dirname, "load-generator.js"));
  await load.ready();

  const notes: string[] = [];
  const ctx: BenchContext = {
    settings,
    runId,
    load,
    branch,
    branchHttp: addresses.httpBase,
    branchGrpc: addresses.grpcTarget,
    counters,
    cpu: new CpuMeter(pgCpu),
    stopped: () => stopped,
    notes,
  };

  const store = onPostgres
    ? `Postgres ${counters!.serverVersion} on 127.0.0.1 (${counters!.durability}; database ` +
      `${database!.name}${database!.own ? " (the bench's own)" : ""}, schemas ${schemas.dtx} and ` +
      `${schemas.floor}; pool ${config.store.poolSize} for dtx and for the floor)`
    : "PGlite in a temporary data directory per coordinator (one connection, inside the coordinator's process)";
  const settingsLine =
    `${settings.seconds} s per workload after ${settings.warmupSeconds} s warm-up, concurrency ` +
    `${settings.concurrency}, dtx ${config.server.workers} worker process${config.server.workers > 1 ? "es" : ""}, ` +
    `dtx recovery worker ${config.recovery.enabled ? "on" : "off"}, log level ` +
    `${process.env.DTX_LOG_LEVEL || "warn"}; coordinator, branch service and load generator in separate ` +
    `processes; 1-min load average at start ${os.loadavg()[0]!.toFixed(2)}`;
  // read before the run: the sources may change while it runs
  const code = codeVersion(path.resolve(__dirname, "../.."));
  console.log(`store: ${store}\nsettings: ${settingsLine}\ncode: ${code ?? "unknown"}`);
  if (database?.note) notes.push(database.note);
  if (onPostgres && !pgCpu) notes.push("Postgres runs out of sight of /proc here: its CPU is not measured.");
  if (!onPostgres) notes.push("On PGlite the database's CPU is part of the coordinator's.");

  const rows: Row[] = [];
  if (settings.floor && settings.workloads.includes(MAIN_WORKLOAD) && !stopped) {
    const floor = await startFloor(storeFor("floor"), runId, onPostgres ? config.store.poolSize : 1);
    await runOn(ctx, floor, [MAIN_WORKLOAD], rows);
    await floor.child.stop();
  }
  if (!stopped) {
    const dtx = await startDtx(storeFor("dtx"), runId);
    await runOn(ctx, dtx, settings.workloads, rows);
    await dtx.child.stop();
  }
  await runMetricsOnOff(ctx, rounds, rows);

  const markdown = await prettify(
    renderMarkdown({ date: new Date(), store, settings: settingsLine, code, rows, notes }),
    settings.out,
  );
  console.log("\n" + markdown);
  writeFileSync(settings.out, markdown);
  console.log(`written to ${settings.out}`);
  return 0;
}

async function main(): Promise<number> {
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    const body = run(cleanups);
    // after an interrupt the run's pending steps fail as their processes go; nothing to report of them
    body.catch(() => undefined);
    return await Promise.race([body, interrupted]);
  } catch (err) {
    if (err instanceof Interrupted) {
      console.error("interrupted: results not written");
      return 130;
    }
    throw err;
  } finally {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (err) {
        console.error("cleanup failed:", (err as Error).message);
      }
    }
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // everything is closed; if some handle still keeps the loop alive, say so and leave anyway
    setTimeout(() => {
      console.error("warning: a handle was still open 5 s after cleanup; exiting");
      process.exit(code);
    }, 5000).unref();
  },
  (err) => {
    // a bad BENCH_* or DTX_* value needs its message, not a stack
    console.error(err instanceof ConfigError ? `bench: ${err.message}` : err);
    process.exit(err instanceof ConfigError ? 2 : 1);
  },
);
