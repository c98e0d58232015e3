/**
 * CPU used during a measured window by each of the bench's processes, by Postgres and by the machine as
 * a whole, from /proc (see proc-stat.ts and postgres-cpu.ts).
 */
import { performance } from "node:perf_hooks";
import { PostgresCpu, type PostgresSample } from "./postgres-cpu";
import { childrenOf, machineBusyTicks, procCpu, ticksPerSecond } from "./proc-stat";

/** The processes of one measurement, by role. */
export interface MeteredPids {
  coordinator: number;
  branch: number;
  load: number;
}

/** One reading. */
export interface CpuSample {
  atMs: number;
  /** Ticks of each metered process, and of the bench's own process. */
  procs: Record<keyof MeteredPids | "bench", number>;
  postgres: PostgresSample | null;
  machine: number | null;
}

/** CPU used between two readings, in milliseconds. */
export interface CpuUsage {
  wallMs: number;
  coordinator: number;
  branch: number;
  load: number;
  /** The bench's own process (it only waits and polls during a window). */
  bench: number;
  /** Null when the server is not local (or on PGlite, where it runs inside the coordinator). */
  postgres: number | null;
  /** The same server counted cluster-wide (see postgres-cpu.ts). */
  postgresCluster: number | null;
  /** Backends of ours that exited inside the window. */
  lostBackends: number;
  /** Every process on the machine, ours included; null when /proc/stat is unreadable. */
  machine: number | null;
}

/** Takes CPU readings of the bench's processes and of Postgres. */
export class CpuMeter {
  private readonly msPerTick = 1000 / ticksPerSecond();

  constructor(private readonly postgres: PostgresCpu | null) {}

  /** Reads every counter; `pgAppName` is the `application_name` of the coordinator being measured. */
  async sample(pids: MeteredPids, pgAppName: string): Promise<CpuSample> {
    const postgres = this.postgres ? await this.postgres.sample(pgAppName) : null;
    const ticks = (pid: number) => {
      const p = procCpu(pid);
      if (!p) throw new Error(`process ${pid} is gone`);
      return p.self;
    };
    // dtx with server.workers > 1: the primary and its workers (live ones, and any it has reaped)
    const tree = (pid: number) =>
      ticks(pid) + procCpu(pid)!.reapedChildren + childrenOf(pid).reduce((sum, c) => sum + c.self, 0);
    return {
      atMs: performance.now(),
      procs: {
        coordinator: tree(pids.coordinator),
        branch: ticks(pids.branch),
        load: ticks(pids.load),
        bench: ticks(process.pid),
      },
      postgres,
      machine: machineBusyTicks(),
    };
  }

  /** CPU between two readings of the same processes. */
  usage(a: CpuSample, b: CpuSample): CpuUsage {
    const ms = (ticks: number) => ticks * this.msPerTick;
    const pg = a.postgres && b.postgres ? PostgresCpu.delta(a.postgres, b.postgres) : null;
    return {
      wallMs: b.atMs - a.atMs,
      coordinator: ms(b.procs.coordinator - a.procs.coordinator),
      branch: ms(b.procs.branch - a.procs.branch),
      load: ms(b.procs.load - a.procs.load),
      bench: ms(b.procs.bench - a.procs.bench),
      postgres: pg ? ms(pg.attributed) : null,
      postgresCluster: pg ? ms(pg.cluster) : null,
      lostBackends: pg?.lostBackends ?? 0,
      machine: a.machine !== null && b.machine !== null ? ms(b.machine - a.machine) : null,
    };
  }
}
