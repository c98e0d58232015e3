/**
 * CPU time of a local Postgres server, read from /proc, in two ways:
 *
 * - **attributed**: the backends of one client (found by `application_name` in `pg_stat_activity`) plus
 *   the server's shared processes (postmaster, WAL writer, checkpointer, background writer, autovacuum...).
 *   Other clients of the same server (other databases, other test runs) are left out. A backend of ours
 *   that exits inside the window takes its CPU with it, so the bench keeps connections open across the
 *   window and reports how many were lost.
 * - **cluster-wide**: the postmaster, every live child of it, and the children it has reaped (a process's
 *   `cutime`/`cstime` collect the CPU of its exited children). Nothing of the server is missed, backends
 *   that came and went included, but everything else using the server is counted too.
 */
import { childrenOf, cmdline, procCpu } from "./proc-stat";

type Query = (text: string) => Promise<{ rows: Array<Record<string, unknown>> }>;

/** One reading, in clock ticks. */
export interface PostgresSample {
  /** pid → ticks of the client's backends. */
  ours: Map<number, number>;
  /** pid → ticks of the server's shared processes (postmaster included). */
  shared: Map<number, number>;
  /** Everything the server has used since it started (live and exited processes). */
  cluster: number;
}

/** CPU between two readings, in clock ticks. */
export interface PostgresDelta {
  attributed: number;
  cluster: number;
  /** Backends of ours seen at the start but gone at the end: their CPU in the window is missing. */
  lostBackends: number;
}

/** Reads a local server's CPU; see the file comment for what is counted. */
export class PostgresCpu {
  private constructor(
    /** The server's main process. */
    readonly postmasterPid: number,
    private readonly query: Query,
  ) {}

  /**
   * Finds the server behind the connection `query` runs on: the parent of its backend process. Null
   * when that process is not visible here (a server on another host or in a container).
   */
  static async locate(query: Query): Promise<PostgresCpu | null> {
    const { rows } = await query("select pg_backend_pid() as pid");
    const backend = procCpu(Number(rows[0]!.pid));
    if (!backend || !/postgres|postmaster/.test(cmdline(backend.ppid))) return null;
    return new PostgresCpu(backend.ppid, query);
  }

  /** Reads the counters; `appName` picks the client whose backends count as ours. */
  async sample(appName: string): Promise<PostgresSample> {
    const { rows } = await this.query(
      "select pid, application_name, backend_type = 'client backend' as client from pg_stat_activity",
    );
    const ourPids = new Set<number>();
    const clientPids = new Set<number>();
    for (const r of rows) {
      if (r.client) clientPids.add(Number(r.pid));
      if (r.client && r.application_name === appName) ourPids.add(Number(r.pid));
    }
    const postmaster = procCpu(this.postmasterPid);
    if (!postmaster) throw new Error(`Postgres server process ${this.postmasterPid} is gone`);
    const ours = new Map<number, number>();
    const shared = new Map<number, number>([[postmaster.pid, postmaster.self]]);
    let cluster = postmaster.self + postmaster.reapedChildren;
    for (const child of childrenOf(this.postmasterPid)) {
      cluster += child.self;
      if (ourPids.has(child.pid)) ours.set(child.pid, child.self);
      // a backend that connected after the query above is someone else's or ours starting late: skip it
      else if (!clientPids.has(child.pid) && rows.some((r) => Number(r.pid) === child.pid))
        shared.set(child.pid, child.self);
    }
    return { ours, shared, cluster };
  }

  /** CPU between two readings. */
  static delta(a: PostgresSample, b: PostgresSample): PostgresDelta {
    // a process first seen in `b` started inside the window: all of its CPU belongs to it
    const sum = (x: Map<number, number>, y: Map<number, number>) =>
      [...y].reduce((s, [pid, t]) => s + t - (x.get(pid) ?? 0), 0);
    return {
      attributed: sum(a.ours, b.ours) + sum(a.shared, b.shared),
      cluster: b.cluster - a.cluster,
      lostBackends: [...a.ours.keys()].filter((pid) => !b.ours.has(pid)).length,
    };
  }
}
