import * as path from "node:path";
import { ConfigError } from "../src/server/config";
import { WORKLOADS, type WorkloadKey } from "./workloads";

/** The bench's knobs, from the environment (see bench/README.md). */
export interface Settings {
  /** Postgres to measure on; "" for PGlite. */
  databaseUrl: string;
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  drainSeconds: number;
  /** Idle wait before each read of the database counters, so every backend has published its commits. */
  settleSeconds: number;
  workloads: WorkloadKey[];
  /** Drain workload: due sagas in the backlog, and the rate of the submits that arrive meanwhile. */
  backlog: number;
  drainRate: number;
  /** Whether the floor runs too (on the main workload). */
  floor: boolean;
  out: string;
}

/** Reads and checks the settings; throws a ConfigError naming the variable on a bad value. */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
  const num = (name: string, fallback: number, opts: { integer?: boolean; min: number }): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < opts.min || (opts.integer && !Number.isInteger(n))) {
      throw new ConfigError(
        `${name}=${JSON.stringify(raw)}: expected a ${opts.integer ? "whole " : ""}number ≥ ${opts.min}`,
      );
    }
    return n;
  };
  const keys = (env.BENCH_WORKLOADS ?? WORKLOADS.map((w) => w.key).join(","))
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  for (const k of keys) {
    if (!WORKLOADS.some((w) => w.key === k)) {
      throw new ConfigError(
        `BENCH_WORKLOADS: unknown workload ${JSON.stringify(k)} (use ${WORKLOADS.map((w) => w.key).join(", ")})`,
      );
    }
  }
  const floor = (env.BENCH_FLOOR ?? "1").trim().toLowerCase();
  if (!["0", "1", "true", "false"].includes(floor)) throw new ConfigError(`BENCH_FLOOR: use 1 or 0`);
  return {
    databaseUrl: env.DTX_BENCH_DATABASE_URL ?? "",
    seconds: num("BENCH_SECONDS", 10, { min: 0.1 }),
    warmupSeconds: num("BENCH_WARMUP_SECONDS", 2, { min: 0 }),
    concurrency: num("BENCH_CONCURRENCY", 64, { integer: true, min: 1 }),
    drainSeconds: num("BENCH_DRAIN_SECONDS", 120, { min: 1 }),
    backlog: num("BENCH_BACKLOG", 40000, { integer: true, min: 1 }),
    drainRate: num("BENCH_DRAIN_RATE", 100, { min: 1 }),
    settleSeconds: num("BENCH_SETTLE_SECONDS", 11, { min: 0 }),
    workloads: [...new Set(keys)] as WorkloadKey[],
    floor: floor === "1" || floor === "true",
    // this file runs as dist/bench/settings.js
    out: env.BENCH_OUT || path.resolve(__dirname, "../../bench/last-run.md"),
  };
}
