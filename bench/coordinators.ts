/**
 * Starting the coordinators under test as their own processes: dtx exactly as deployed
 * (`node dist/src/server/main.js`, configured through `DTX_*` variables) and the floor
 * (`node dist/bench/floor-coordinator.js`, configured through `FLOOR_*` variables).
 */
import * as net from "node:net";
import * as path from "node:path";
import { request } from "undici";
import { Child } from "./children";
import { sleep } from "./load";

/** Where a coordinator stores: a Postgres schema, or an embedded PGlite in a directory. */
export type StoreTarget = { url: string; schema: string } | { dataDir: string };

/** A running coordinator. */
export interface Coordinator {
  /** `dtx` or `floor`. */
  kind: "dtx" | "floor";
  child: Child;
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** `application_name` of its Postgres connections (set through PGAPPNAME), to attribute their CPU. */
  pgAppName: string;
}

/** The compiled tree's root (this file runs as dist/bench/coordinators.js). */
const DIST = path.resolve(__dirname, "..");

/** A port that was free a moment ago on 127.0.0.1 (a coordinator configured with it binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `GET /api/ping` until it answers 200; fails if the process exits or `timeoutMs` passes. */
async function waitReady(c: Coordinator, timeoutMs: number): Promise<Coordinator> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  const died = c.child.died().finally(() => (gone = true));
  const ping = async (): Promise<void> => {
    while (!gone) {
      try {
        const res = await request(`${c.origin}/api/ping`);
        await res.body.dump();
        if (res.statusCode === 200) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`${c.kind} did not answer on ${c.origin} in ${timeoutMs} ms`);
      await sleep(50);
    }
  };
  await Promise.race([ping(), died]);
  return c;
}

/**
 * Runs `script` (relative to dist/) on a free port with the environment `env` builds for it, tags its
 * Postgres connections through PGAPPNAME, and resolves once it answers.
 */
async function start(
  kind: Coordinator["kind"],
  script: string,
  runId: string,
  env: (port: number) => NodeJS.ProcessEnv,
): Promise<Coordinator> {
  const port = await freePort();
  const pgAppName = `dtx-bench-${runId}-${kind}`;
  // BENCH_PROFILE_DIR: each coordinator writes a V8 CPU profile there when it stops (bench/README.md)
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const profile = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];
  const child = Child.spawn(kind, process.execPath, [...profile, path.join(DIST, script)], {
    ...process.env,
    ...env(port),
    PGAPPNAME: pgAppName,
  });
  return waitReady({ kind, child, origin: `http://127.0.0.1:${port}`, pgAppName }, 120_000);
}

/**
 * Starts dtx's server as a user deploys it: `node dist/src/server/main.js` with `DTX_*` variables;
 * `settings` are `DTX_*` values of this start only.
 */
export function startDtx(
  store: StoreTarget,
  runId: string,
  settings: NodeJS.ProcessEnv = {},
): Promise<Coordinator> {
  return start("dtx", "src/server/main.js", runId, (port) => ({
    ...settings,
    DTX_SERVER_HOST: "127.0.0.1",
    DTX_SERVER_PORTS: String(port),
    // warn: quiet on the happy path, yet a failing run says why
    DTX_LOG_LEVEL: process.env.DTX_LOG_LEVEL || "warn",
    ...("url" in store
      ? { DTX_STORE_URL: store.url, DTX_STORE_SCHEMA: store.schema }
      : { DTX_STORE_URL: "", DTX_STORE_DATA_DIR: store.dataDir }),
  }));
}

/** Starts the floor coordinator with a pool of `poolSize` connections. */
export function startFloor(store: StoreTarget, runId: string, poolSize: number): Promise<Coordinator> {
  return start("floor", "bench/floor-coordinator.js", runId, (port) => ({
    FLOOR_PORT: String(port),
    FLOOR_POOL_SIZE: String(poolSize),
    ...("url" in store
      ? { FLOOR_DATABASE_URL: store.url, FLOOR_SCHEMA: store.schema }
      : { FLOOR_DATABASE_URL: "", FLOOR_DATA_DIR: store.dataDir }),
  }));
}
