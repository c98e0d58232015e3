/**
 * `dtx doctor`: whether this machine's configuration would start a healthy coordinator — configuration
 * valid, store reachable, migrations current, the Postgres settings dtx relies on, the clock offset to
 * the database, the ports free — each check a row with `ok`, `warn` or `fail`.
 */
import { createServer } from "node:net";
import { request } from "undici";
import { loadConfig, type Config } from "../server/config";
import { pendingMigrations } from "../store/migrate";
import { Store } from "../store/store";

/** One check's result. */
export interface Check {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

/** A clock further off than this is worth a warning (dtx anchors to the database's clock, logs drift). */
const CLOCK_WARN_MS = 1_000;

/** How long a port's holder may take to answer /api/ping before it counts as another program. */
const PING_TIMEOUT_MS = 2_000;

/** Runs every check; the store and port checks only when the configuration is valid. */
export async function doctor(opts: { config?: string; dtmEnv?: boolean }): Promise<Check[]> {
  let config: Config;
  try {
    config = loadConfig({ file: opts.config, dtmEnv: opts.dtmEnv });
  } catch (err) {
    return [{ check: "configuration", status: "fail", detail: (err as Error).message }];
  }
  const where = config.store.url ? "postgres" : `embedded PGlite in ${config.store.dataDir}`;
  const checks: Check[] = [{ check: "configuration", status: "ok", detail: `valid; store: ${where}` }];
  checks.push(...(await storeChecks(config)));
  for (const port of config.server.ports) checks.push(await portCheck(config.server.host, port));
  return checks;
}

async function storeChecks(config: Config): Promise<Check[]> {
  let store: Store;
  try {
    store = await Store.open({ ...config.store, migrate: false });
  } catch (err) {
    const message = (err as Error).message;
    // the embedded store is locked while the coordinator runs: that is a healthy state
    if (!config.store.url && /is in use by process/.test(message)) {
      return [{ check: "store", status: "ok", detail: `held by the running coordinator (${message})` }];
    }
    return [{ check: "store", status: "fail", detail: message }];
  }
  try {
    const checks: Check[] = [{ check: "store", status: "ok", detail: `reachable (${store.kind})` }];
    const pending = await pendingMigrations(store.db);
    checks.push(
      pending.length === 0
        ? { check: "migrations", status: "ok", detail: "current" }
        : {
            check: "migrations",
            status: "fail",
            detail: `${pending.length} pending (${pending.map((m) => `${m.version} ${m.name}`).join(", ")}): run dtx migrate`,
          },
    );
    checks.push(await preparedTransactions(store));
    checks.push(await clockOffset(store));
    return checks;
  } finally {
    await store.close();
  }
}

/** XA branches prepare Postgres transactions: the server must allow some. */
async function preparedTransactions(store: Store): Promise<Check> {
  const { rows } = await store.db.query<{ max_prepared_transactions: string }>(
    "show max_prepared_transactions",
  );
  const n = Number(rows[0]?.max_prepared_transactions ?? 0);
  return n > 0
    ? { check: "max_prepared_transactions", status: "ok", detail: String(n) }
    : {
        check: "max_prepared_transactions",
        status: "warn",
        detail: "0: XA branches on this Postgres cannot prepare (set max_prepared_transactions, e.g. 100)",
      };
}

/** The database's clock against this machine's, read at the midpoint of the query. */
async function clockOffset(store: Store): Promise<Check> {
  const sent = Date.now();
  const { rows } = await store.db.query<{ now: Date }>("select now() as now");
  const received = Date.now();
  const offset = rows[0]!.now.getTime() - (sent + received) / 2;
  const detail = `${offset >= 0 ? "+" : ""}${Math.round(offset)} ms (database minus this machine)`;
  return { check: "clock offset", status: Math.abs(offset) > CLOCK_WARN_MS ? "warn" : "ok", detail };
}

/** A port is free, or a dtx already answers there (a running coordinator), or another program holds it. */
async function portCheck(host: string, port: number): Promise<Check> {
  const check = `port ${port}`;
  if (port === 0) return { check, status: "ok", detail: "0: a free port is picked at start" };
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
    const server = createServer();
    server.once("error", resolve);
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
  if (error === null) return { check, status: "ok", detail: `free on ${host}` };
  if (error.code !== "EADDRINUSE") return { check, status: "fail", detail: `${host}:${port}: ${error.code}` };
  const target = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  const url = `http://${target.includes(":") ? `[${target}]` : target}:${port}/api/ping`;
  // the timeout settles the check by itself: a holder that drops each connection at once can leave
  // undici's request unsettled even after its abort, with nothing else to keep the process running
  // (it then ended mid-check, exit 0 and no output)
  const abort = new AbortController();
  let timer!: NodeJS.Timeout;
  const timedOut = new Promise<null>((resolve) => {
    timer = setTimeout(() => {
      abort.abort();
      resolve(null);
    }, PING_TIMEOUT_MS);
  });
  const answered = request(url, { signal: abort.signal })
    .then((res) => res.body.json())
    .catch(() => null);
  const pong = await Promise.race([answered, timedOut]).finally(() => clearTimeout(timer));
  return (pong as { msg?: string } | null)?.msg === "pong"
    ? { check, status: "ok", detail: "in use by a running dtx" }
    : { check, status: "fail", detail: `in use by another program (server.ports)` };
}
