/**
 * The coordinator's configuration: defaults, then a YAML file, then `DTX_*` environment variables, then
 * programmatic overrides — each later source beating the earlier ones — validated with messages that name
 * the key and where its value came from.
 *
 * Every key is listed once in {@link KEYS}; merging, environment names and validation all derive from that
 * table, so a new key cannot be half-supported.
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { TargetPolicy } from "../core/target-policy";
import { dtmSettings, isDtmTree, type DtmSetting } from "./dtm-config";
import { ConfigError, formatDuration, parseDuration } from "./duration";
import { didYouMean } from "./nearest";
import { isLoopback } from "./loopback";

export { ConfigError } from "./duration";

/** Log levels accepted by `log.level` (pino's levels plus `silent`). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How log lines are written (`log.format`): `auto` is `pretty` when stdout is a terminal, else `json`. */
export const LOG_FORMATS = ["auto", "json", "pretty"] as const;

/** One of {@link LOG_FORMATS}. */
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Every property optional, recursively; arrays are replaced whole, never merged element by element. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** Listeners and request handling. */
export interface ServerConfig {
  /**
   * Address every listener binds. Default `"127.0.0.1"` (this machine only, as Postgres and Redis do);
   * `0.0.0.0` serves every interface and then needs `admin.token`.
   */
  host: string;
  /**
   * Ports to listen on; every port serves every protocol (dtm's HTTP and gRPC APIs, the native API, admin).
   * Port 0 picks a free port (tests). Default `[36789, 36790]`, dtm's HTTP and gRPC ports.
   */
  ports: number[];
  /** Largest accepted request body, in bytes; a larger one is answered 413. Default `1048576` (1 MiB). */
  maxBodyBytes: number;
  /** Largest HTTP/1 request head (request line and headers), in bytes; a larger one is answered 431. Default `16384`. */
  maxHeaderBytes: number;
  /**
   * How long a graceful stop waits, ms, at each of its two steps: for in-flight requests (connections
   * still open then are closed), then for running passes (the leases of passes still running then are
   * handed back, due at once). Default 10s.
   */
  shutdownTimeout: number;
  /**
   * Coordinator processes on this machine (node:cluster): they share the ports — each connection is
   * served by one of them — and the store. More than 1 needs Postgres (`store.url`). Default `1`.
   */
  workers: number;
}

/** Where transactions are stored. */
export interface StoreConfig {
  /** Postgres connection URL. Default `""`: an embedded PGlite database in {@link StoreConfig.dataDir}. */
  url: string;
  /**
   * Directory of the embedded PGlite database (used only when `url` is empty); `"memory://"` keeps it in
   * memory, losing everything on exit. Default `"./data/pglite"`.
   */
  dataDir: string;
  /**
   * Postgres schema holding dtx's tables. Must be a plain lowercase identifier, because it is written into
   * SQL text (schemas cannot be bound as parameters). Default `"public"`.
   */
  schema: string;
  /** Maximum pooled connections to Postgres. Default `20`. */
  poolSize: number;
}

/** Retries of failed or unfinished branches. */
export interface RetryConfig {
  /** Base delay before a transaction is retried, ms (dtm's `RetryInterval`). Default 10s. */
  interval: number;
  /** Cap on the doubling backoff after errors, ms; must be at least `interval`. Default 1h. */
  maxInterval: number;
}

/** Outbound branch calls. */
export interface BranchConfig {
  /** Timeout of one branch call (HTTP or gRPC), ms. Default 3s. */
  requestTimeout: number;
  /**
   * Hosts branch URLs may point at: host patterns (`bank`, `*.svc.cluster.local`, `api.example.com:8443`)
   * and CIDRs (`10.0.0.0/8`). A transaction with a URL elsewhere is refused at submit (400 naming the
   * URL). Default `[]`: any host, as in dtm.
   */
  allowedTargets: string[];
}

/** The background worker that picks up due transactions (retries, timeouts, crash recovery). */
export interface RecoveryConfig {
  /** Whether this process runs the recovery worker. Default `true`. */
  enabled: boolean;
  /**
   * On Postgres, run the recovery worker on a thread of its own, with its own pool of
   * `store.poolSize` connections, so a backlog being drained does not slow new submits
   * (recovery-thread.ts). Default `true`. On PGlite it always runs on the main thread, beside the
   * embedded database.
   */
  thread: boolean;
  /**
   * How far below the process's CPU priority the recovery thread runs on Linux: this is added to the
   * process's nice value (as `nice -n` does; the sum stops at 19, the lowest), 0 leaves it at the
   * process's. When the cores are busy, new submits run first and the drain takes what is left.
   * Default `10`. Only with `thread`.
   */
  nice: number;
  /** Idle sleep between claims when nothing is due, ms. Default 1s. */
  pollInterval: number;
  /** Due transactions claimed per query, at most. Default `64`. */
  batchSize: number;
  /**
   * Transaction passes the worker runs at once. A claim takes what the free slots can run; the next
   * is made once half of them are free, while the rest still run. Default `64`.
   */
  concurrency: number;
  /**
   * How long a claim holds a transaction before another coordinator may take it, ms. Default 10s. A
   * coordinator that dies is noticed sooner, by its heartbeat (`heartbeat`, `deadAfter`).
   */
  lease: number;
  /** How often a coordinator beats (in the database) and looks for dead ones, ms. Default 500ms. */
  heartbeat: number;
  /**
   * A coordinator that has not beaten for this long is dead: the transactions it leased are taken over
   * by the others (or by its own restart, at once when on the same host and port). Must be at least
   * twice `heartbeat`. Default 2s.
   */
  deadAfter: number;
}

/** Admission control of submits (src/core/admission.ts). */
export interface AdmissionConfig {
  /** Submits whose passes may run at once; more wait. Default `512`. */
  maxInFlight: number;
  /** Submits that may wait for a slot; beyond them a submit is refused at once (503, RESOURCE_EXHAUSTED). Default `1024`. */
  maxQueued: number;
  /** How long a submit waits for a slot before it is refused, ms. Default 2s. */
  maxWait: number;
}

/** Limits on everything that grows. */
export interface LimitsConfig {
  /** Most branches (steps) in one transaction. Default `1000`. */
  maxSteps: number;
  /** Longest accepted gid, in characters. Default `128`. */
  maxGidLength: number;
  /** Largest page a listing returns. Default `1000`. */
  maxPageSize: number;
  /** Largest payload of one branch (a step's, a registered branch's), in bytes. Default `262144` (256 KiB). */
  maxPayloadBytes: number;
}

/** Alerts about branches that keep failing (dtm's `AlertWebHook` and `AlertRetryLimit`). */
export interface AlertConfig {
  /**
   * URL POSTed a JSON alert (dtm's body: `gid`, `status`, `branch` (its URL), `error`, `retry_count`, plus
   * `branch_id` and `op`) each time a branch call errs once its retry interval has doubled `retryLimit`
   * times in a row. Delivery is best effort: a failing webhook is only logged. Default `""`: no alerts.
   */
  webhook: string;
  /** How many doublings of the retry interval make an error alerted (10 s → 80 s is 3). Default `3`. */
  retryLimit: number;
}

/** Prometheus metrics at `GET /api/metrics`. */
export interface MetricsConfig {
  /** Whether metrics are recorded and served. Default `true`. */
  enabled: boolean;
  /**
   * The gauges read from the store (unfinished transactions, the oldest one's age, the due backlog) are
   * re-read by a scrape at most this often, ms. Default 15s.
   */
  refreshInterval: number;
}

/** Deleting finished transactions (dtm keeps them forever). */
export interface RetentionConfig {
  /**
   * Succeeded and failed transactions last written longer ago than this are deleted with their branches,
   * ms (`30d`). Default 0: kept forever. A deleted gid is unknown afterwards (`query` answers no transaction,
   * and a new transaction may take the gid).
   */
  finished: number;
  /** How often a coordinator looks for finished transactions to delete, ms. Default 1m. */
  interval: number;
  /** Transactions deleted per statement (one commit). Default `500`. */
  batchSize: number;
}

/** OpenTelemetry traces. */
export interface OtelConfig {
  /**
   * OTLP/HTTP endpoint traces are sent to (`http://collector:4318`; spans go to `<endpoint>/v1/traces`).
   * Default `""`: the standard `OTEL_EXPORTER_OTLP_ENDPOINT` if set, else no traces.
   */
  endpoint: string;
  /** The `service.name` of dtx's spans. Default `"dtx"`. */
  serviceName: string;
}

/** The admin service and page (operators). */
export interface AdminConfig {
  /**
   * Bearer token the admin service and page require (its audit name: `admin`). Required, here or in
   * `tokenFile`, when `server.host` is not a loopback address. Default `""`: open on loopback.
   */
  token: string;
  /** File of tokens, one a line: `NAME TOKEN` (audit lines name the operator) or `TOKEN`. Default `""`. */
  tokenFile: string;
}

/** Logging. */
export interface LogConfig {
  /** Minimum level written. Default `"info"`. */
  level: LogLevel;
  /**
   * `json`: JSON lines (`timestamp`, `level`, `service`, `trace_id`, `message`, then the fields); `pretty`: one
   * readable line per event; `auto`: pretty when stdout is a terminal, else JSON. Default `"auto"`.
   */
  format: LogFormat;
}

/** The coordinator's configuration. Every duration is in milliseconds. */
export interface Config {
  server: ServerConfig;
  store: StoreConfig;
  retry: RetryConfig;
  branch: BranchConfig;
  /**
   * How long a tcc, xa or msg transaction may stay unfinished before the coordinator fails it (rolls back or,
   * for msg, queries prepared), ms. Never applied to saga. Default 35s (dtm's `TimeoutToFail`).
   */
  timeoutToFail: number;
  recovery: RecoveryConfig;
  admission: AdmissionConfig;
  limits: LimitsConfig;
  alert: AlertConfig;
  metrics: MetricsConfig;
  retention: RetentionConfig;
  otel: OtelConfig;
  admin: AdminConfig;
  log: LogConfig;
}

/** The built-in defaults; a fresh object on every call. */
export function defaultConfig(): Config {
  return {
    server: {
      host: "127.0.0.1",
      ports: [36789, 36790],
      maxBodyBytes: 1_048_576,
      maxHeaderBytes: 16_384,
      shutdownTimeout: 10_000,
      workers: 1,
    },
    store: { url: "", dataDir: "./data/pglite", schema: "public", poolSize: 20 },
    retry: { interval: 10_000, maxInterval: 3_600_000 },
    branch: { requestTimeout: 3_000, allowedTargets: [] },
    timeoutToFail: 35_000,
    recovery: {
      enabled: true,
      thread: true,
      nice: 10,
      pollInterval: 1_000,
      batchSize: 64,
      concurrency: 64,
      lease: 10_000,
      heartbeat: 500,
      deadAfter: 2_000,
    },
    admission: { maxInFlight: 512, maxQueued: 1024, maxWait: 2_000 },
    limits: { maxSteps: 1000, maxGidLength: 128, maxPageSize: 1000, maxPayloadBytes: 262_144 },
    alert: { webhook: "", retryLimit: 3 },
    metrics: { enabled: true, refreshInterval: 15_000 },
    retention: { finished: 0, interval: 60_000, batchSize: 500 },
    otel: { endpoint: "", serviceName: "dtx" },
    admin: { token: "", tokenFile: "" },
    log: { level: "info", format: "auto" },
  };
}

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** YAML file to merge over the defaults. Default: `env.DTX_CONFIG` if set, else no file. */
  file?: string;
  /** Environment to read `DTX_*` overrides (and `DTX_CONFIG`) from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Applied last, over the file and the environment (tests). Durations in ms. */
  overrides?: DeepPartial<Config>;
  /** Read dtm's environment names (`STORE_DRIVER`, `HTTP_PORT`, …) too, under the file (`--dtm-env`). */
  dtmEnv?: boolean;
  /** Told once about the dtm keys of the file or the dtm environment that dtx does not use. */
  warn?: (message: string) => void;
}

/**
 * Builds the configuration: defaults, then the YAML file (`file` or `DTX_CONFIG`), then `DTX_*` environment
 * variables, then `overrides`, then cross-key checks.
 *
 * Unknown keys in the file, in `overrides` and among the `DTX_*` variables are errors (a typo must not
 * silently fall back to a default); the variables other tools read are exempt (see {@link NON_CONFIG_ENV}).
 *
 * @throws ConfigError naming the key and the source of the bad value
 */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const config = defaultConfig();
  const origins = new Map<string, string>();

  const file = opts.file ?? (env.DTX_CONFIG || undefined);
  const tree = file === undefined ? undefined : readYaml(file);
  const dtmFile = file !== undefined && isDtmTree(tree, `file ${file}`);
  if (opts.dtmEnv || dtmFile) {
    const dtm = dtmSettings(opts.dtmEnv ? env : {}, dtmFile ? { tree, file: file! } : undefined);
    for (const setting of dtm.settings) apply(config, origins, setting);
    if (dtm.unused.length > 0) {
      opts.warn?.(`dtm configuration keys dtx does not use (ignored): ${dtm.unused.join(", ")}`);
    }
  }
  if (file !== undefined && !dtmFile) mergeTree(config, origins, tree, `file ${file}`, "", "text");

  checkEnvNames(env);
  for (const [path, parse] of KEYS) {
    const name = envVarName(path);
    const raw = env[name];
    if (raw === undefined) continue;
    const origin = `env ${name}`;
    setPath(config, path, parse(raw, label(path, origin), "text"));
    origins.set(path, origin);
  }

  if (opts.overrides !== undefined) mergeTree(config, origins, opts.overrides, "overrides", "", "code");

  checkCrossKeys(config, origins);
  return config;
}

/**
 * The environment variable overriding a key: `DTX_` + the key path upper-snake-cased, e.g.
 * `retry.maxInterval` → `DTX_RETRY_MAX_INTERVAL`, `store.url` → `DTX_STORE_URL`.
 */
export function envVarName(path: string): string {
  return (
    "DTX_" +
    path
      .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
      .replace(/\./g, "_")
      .toUpperCase()
  );
}

/**
 * `DTX_*` variables that are not configuration keys: `DTX_CONFIG` (the file), `DTX_URL` and `DTX_GRPC`
 * (where the examples' clients find the coordinator), and every `DTX_TEST_*` and `DTX_BENCH_*` (the
 * tests' and the benchmark's settings).
 */
export const NON_CONFIG_ENV: readonly RegExp[] = [/^DTX_(CONFIG|URL|GRPC)$/, /^DTX_(TEST|BENCH)_/];

/**
 * Names people bring from elsewhere for a variable dtx calls otherwise, too far from it for an edit
 * distance to find: the store's URL is `DTX_STORE_URL`, while the sample bank, the tests and the
 * benchmark take a `…_DATABASE_URL`, and a port or host is under `server`.
 */
const ENV_ALIASES: ReadonlyMap<string, string> = new Map([
  ["DTX_DATABASE_URL", "DTX_STORE_URL"],
  ["DTX_DB_URL", "DTX_STORE_URL"],
  ["DTX_POSTGRES_URL", "DTX_STORE_URL"],
  ["DTX_PG_URL", "DTX_STORE_URL"],
  ["DTX_HOST", "DTX_SERVER_HOST"],
  ["DTX_PORT", "DTX_SERVER_PORTS"],
  ["DTX_PORTS", "DTX_SERVER_PORTS"],
]);

/** Every `DTX_*` variable must name a key (or be one of NON_CONFIG_ENV): a typo is an error, not a default. */
function checkEnvNames(env: NodeJS.ProcessEnv): void {
  const known = new Set([...KEYS.keys()].map(envVarName));
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith("DTX_") || known.has(name) || NON_CONFIG_ENV.some((re) => re.test(name))) continue;
    const alias = ENV_ALIASES.get(name);
    const hint = alias === undefined ? didYouMean(name, known) : `; did you mean ${alias}?`;
    throw new ConfigError(
      `config env ${name}: unknown variable (no configuration key is called that)${hint}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Value parsers. Each takes a raw value from YAML, the environment (always a string) or overrides, and a
// label naming the key and its source, and returns the typed value or throws a ConfigError.

/** `text`: from a file or the environment, where a duration needs a unit; `code`: overrides, in ms. */
type Source = "text" | "code";

type Parser = (raw: unknown, label: string, source: Source) => unknown;

/** `setTimeout` overflows above this and fires at once; durations may end up in timers, so cap them. */
const MAX_DURATION_MS = 2 ** 31 - 1;

function show(raw: unknown): string {
  return typeof raw === "string" || (typeof raw === "object" && raw !== null)
    ? JSON.stringify(raw)
    : String(raw);
}

/** A duration; `uncapped` for one that never ends up in a timer (an age). */
function duration(opts: { allowZero?: boolean; uncapped?: boolean } = {}): Parser {
  return (raw, label, source) => {
    const bare = typeof raw === "number" || (typeof raw === "string" && /^\s*[\d.]+\s*$/.test(raw));
    if (source === "text" && bare && Number(raw) !== 0) {
      throw new ConfigError(
        `config ${label}: ${show(raw)} has no unit; write it with one, e.g. ${String(raw).trim()}s or ` +
          `${String(raw).trim()}ms (dtx would read a bare number as milliseconds, dtm as seconds)`,
      );
    }
    const ms = parseDuration(raw as string | number, label);
    if (ms === 0 && !opts.allowZero) throw new ConfigError(`config ${label}: must be greater than 0`);
    if (ms > MAX_DURATION_MS && !opts.uncapped) {
      throw new ConfigError(
        `config ${label}: ${show(raw)} is too long (at most ${formatDuration(MAX_DURATION_MS)})`,
      );
    }
    return ms;
  };
}

function integer(raw: unknown): number | undefined {
  if (typeof raw === "number") return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw === "string" && /^\s*\d+\s*$/.test(raw)) {
    const n = Number(raw);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

function positiveInt(): Parser {
  return (raw, label) => {
    const n = integer(raw);
    if (n === undefined || n < 1)
      throw new ConfigError(`config ${label}: ${show(raw)} is not a positive integer`);
    return n;
  };
}

function intBetween(min: number, max: number): Parser {
  return (raw, label) => {
    const n = integer(raw);
    if (n === undefined || n < min || n > max)
      throw new ConfigError(`config ${label}: ${show(raw)} is not an integer from ${min} to ${max}`);
    return n;
  };
}

function ports(): Parser {
  return (raw, label) => {
    const items =
      typeof raw === "string" ? raw.split(",").map((s) => s.trim()) : Array.isArray(raw) ? raw : [raw];
    if (items.length === 0 || (items.length === 1 && items[0] === "")) {
      throw new ConfigError(`config ${label}: needs at least one port`);
    }
    const out: number[] = [];
    for (const item of items) {
      const port = integer(item);
      if (port === undefined || port > 65535) {
        throw new ConfigError(`config ${label}: ${show(item)} is not a port (0-65535)`);
      }
      // Port 0 may repeat: each asks the OS for a different free port.
      if (port !== 0 && out.includes(port))
        throw new ConfigError(`config ${label}: port ${port} is listed twice`);
      out.push(port);
    }
    return out;
  };
}

function string(opts: { allowEmpty?: boolean; pattern?: RegExp; hint?: string } = {}): Parser {
  return (raw, label) => {
    if (typeof raw !== "string") throw new ConfigError(`config ${label}: ${show(raw)} is not a string`);
    if (raw === "" && !opts.allowEmpty) throw new ConfigError(`config ${label}: must not be empty`);
    if (opts.pattern && !opts.pattern.test(raw)) {
      throw new ConfigError(`config ${label}: ${show(raw)} ${opts.hint ?? "is not valid"}`);
    }
    return raw;
  };
}

/**
 * A store URL: empty (the embedded PGlite) or `postgres://` / `postgresql://`. Anything else (dtm's
 * `mysql`, `redis`, `boltdb` stores) is refused at start instead of failing on the first connection.
 * The message shows the URL without its password.
 */
function storeUrl(): Parser {
  return (raw, label) => {
    if (typeof raw !== "string") throw new ConfigError(`config ${label}: ${show(raw)} is not a string`);
    if (raw === "") return raw;
    const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(raw)?.[1]?.toLowerCase();
    const shown = JSON.stringify(raw.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@"));
    if (scheme !== "postgres" && scheme !== "postgresql") {
      throw new ConfigError(
        `config ${label}: ${shown} is not supported: dtx stores in Postgres (postgres://…), ` +
          `or in the embedded PGlite when store.url is empty`,
      );
    }
    if (!URL.canParse(raw)) throw new ConfigError(`config ${label}: ${shown} is not a valid URL`);
    return raw;
  };
}

const TRUE = ["true", "1", "yes", "on"];
const FALSE = ["false", "0", "no", "off"];

function boolean(): Parser {
  return (raw, label) => {
    if (typeof raw === "boolean") return raw;
    const s = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
    if (s !== undefined && TRUE.includes(s)) return true;
    if (s !== undefined && FALSE.includes(s)) return false;
    throw new ConfigError(`config ${label}: ${show(raw)} is not a boolean (use true or false)`);
  };
}

/** A list: a YAML sequence, or comma-separated text; each item checked by `problem`. */
function list(problem: (item: string) => string | null): Parser {
  return (raw, label) => {
    const items =
      typeof raw === "string"
        ? raw
            .split(",")
            .map((s) => s.trim())
            .filter((s) => s !== "")
        : raw;
    if (!Array.isArray(items)) throw new ConfigError(`config ${label}: ${show(raw)} is not a list`);
    for (const item of items) {
      const why = typeof item === "string" ? problem(item) : "is not a string";
      if (why !== null) throw new ConfigError(`config ${label}: ${show(item)} ${why}`);
    }
    return items as string[];
  };
}

function logLevel(): Parser {
  return (raw, label) => {
    const s = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
    if (s !== undefined && (LOG_LEVELS as readonly string[]).includes(s)) return s;
    throw new ConfigError(`config ${label}: ${show(raw)} is not a log level (use ${LOG_LEVELS.join(", ")})`);
  };
}

function logFormat(): Parser {
  return (raw, label) => {
    const s = typeof raw === "string" ? raw.trim().toLowerCase() : undefined;
    if (s !== undefined && (LOG_FORMATS as readonly string[]).includes(s)) return s;
    throw new ConfigError(
      `config ${label}: ${show(raw)} is not a log format (use ${LOG_FORMATS.join(", ")})`,
    );
  };
}

/** Every configurable key, by its dotted path. `version` is deliberately absent: it is not configurable. */
const KEYS: ReadonlyMap<string, Parser> = new Map<string, Parser>([
  ["server.host", string()],
  ["server.ports", ports()],
  ["server.maxBodyBytes", positiveInt()],
  ["server.maxHeaderBytes", positiveInt()],
  ["server.shutdownTimeout", duration({ allowZero: true })],
  ["server.workers", positiveInt()],
  ["store.url", storeUrl()],
  ["store.dataDir", string()],
  [
    "store.schema",
    string({
      pattern: /^[a-z_][a-z0-9_]{0,62}$/,
      hint: "is not a lowercase Postgres identifier ([a-z_][a-z0-9_]*)",
    }),
  ],
  ["store.poolSize", positiveInt()],
  ["retry.interval", duration()],
  ["retry.maxInterval", duration()],
  ["branch.requestTimeout", duration()],
  ["branch.allowedTargets", list((item) => TargetPolicy.problem(item))],
  ["timeoutToFail", duration()],
  ["recovery.enabled", boolean()],
  ["recovery.thread", boolean()],
  ["recovery.nice", intBetween(0, 19)],
  ["recovery.pollInterval", duration()],
  ["recovery.batchSize", positiveInt()],
  ["recovery.concurrency", positiveInt()],
  ["recovery.lease", duration()],
  ["recovery.heartbeat", duration()],
  ["recovery.deadAfter", duration()],
  ["admission.maxInFlight", positiveInt()],
  ["admission.maxQueued", positiveInt()],
  ["admission.maxWait", duration()],
  ["limits.maxSteps", positiveInt()],
  ["limits.maxGidLength", positiveInt()],
  ["limits.maxPageSize", positiveInt()],
  ["limits.maxPayloadBytes", positiveInt()],
  [
    "alert.webhook",
    string({ allowEmpty: true, pattern: /^(https?:\/\/\S+)?$/, hint: "is not an http(s) URL" }),
  ],
  ["alert.retryLimit", positiveInt()],
  ["metrics.enabled", boolean()],
  ["metrics.refreshInterval", duration()],
  ["retention.finished", duration({ allowZero: true, uncapped: true })],
  ["retention.interval", duration()],
  ["retention.batchSize", positiveInt()],
  [
    "otel.endpoint",
    string({ allowEmpty: true, pattern: /^(https?:\/\/\S+)?$/, hint: "is not an http(s) URL" }),
  ],
  ["otel.serviceName", string()],
  [
    "admin.token",
    string({
      allowEmpty: true,
      pattern: /^(\S{16,})?$/,
      hint: "must be 16 or more characters without spaces",
    }),
  ],
  ["admin.tokenFile", string({ allowEmpty: true })],
  ["log.level", logLevel()],
  ["log.format", logFormat()],
]);

/** Paths that are mappings of other keys (`server`, `store`, ...). */
const SECTIONS: ReadonlySet<string> = new Set(
  [...KEYS.keys()].flatMap((path) => {
    const parts = path.split(".");
    return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join("."));
  }),
);

// ---------------------------------------------------------------------------------------------------------
// Sources and merging.

function label(path: string, origin: string): string {
  return `${path} (${origin})`;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`config file ${file}: cannot read it (${(err as Error).message})`);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file}: invalid YAML: ${(err as Error).message}`);
  }
}

/**
 * Merges a nested tree (parsed YAML or overrides) into `config`, parsing each leaf. A `null` or `undefined`
 * value means "not set", so a YAML section whose keys are all commented out is harmless.
 */
function mergeTree(
  config: Config,
  origins: Map<string, string>,
  tree: unknown,
  origin: string,
  prefix: string,
  source: Source,
): void {
  if (tree === null || tree === undefined) return;
  if (!isMapping(tree)) {
    const what = prefix === "" ? "the top level" : `"${prefix}"`;
    throw new ConfigError(`config ${origin}: ${what} must be a mapping of keys, got ${show(tree)}`);
  }
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    const parse = KEYS.get(path);
    if (parse !== undefined) {
      if (value === null || value === undefined) continue;
      setPath(config, path, parse(value, label(path, origin), source));
      origins.set(path, origin);
    } else if (SECTIONS.has(path)) {
      mergeTree(config, origins, value, origin, path, source);
    } else if (path === "version") {
      throw new ConfigError(`config ${origin}: "version" is not configurable`);
    } else {
      const known = [...KEYS.keys(), ...SECTIONS];
      throw new ConfigError(`config ${origin}: unknown key "${path}"${didYouMean(path, known)}`);
    }
  }
}

/** One key from dtm's configuration, already in dtx's units (`10s`), parsed as file text is. */
function apply(config: Config, origins: Map<string, string>, setting: DtmSetting): void {
  const parse = KEYS.get(setting.path)!;
  setPath(config, setting.path, parse(setting.value, label(setting.path, setting.origin), "text"));
  origins.set(setting.path, setting.origin);
}

function setPath(config: Config, path: string, value: unknown): void {
  const parts = path.split(".");
  let node = config as unknown as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[parts[parts.length - 1]] = value;
}

/** Checks that involve more than one key; single values were checked as they were parsed. */
function checkCrossKeys(config: Config, origins: Map<string, string>): void {
  const where = (path: string) => {
    const origin = origins.get(path);
    return origin === undefined ? path : label(path, origin);
  };
  if (config.server.workers > 1 && config.store.url === "") {
    throw new ConfigError(
      `config ${where("server.workers")}: ${config.server.workers} workers need Postgres (store.url); ` +
        `the embedded store (store.dataDir) is open in one process only`,
    );
  }
  const { host } = config.server;
  if (!isLoopback(host) && config.admin.token === "" && config.admin.tokenFile === "") {
    throw new ConfigError(
      `config ${where("server.host")}: ${host} serves beyond this machine, so the admin API needs a token: ` +
        "set admin.token (DTX_ADMIN_TOKEN, e.g. openssl rand -hex 32) or admin.tokenFile, or listen on 127.0.0.1",
    );
  }
  const { interval, maxInterval } = config.retry;
  if (maxInterval < interval) {
    throw new ConfigError(
      `config ${where("retry.maxInterval")}: ${formatDuration(maxInterval)} is less than ` +
        `${where("retry.interval")} ${formatDuration(interval)}; the backoff cap must be at least the interval`,
    );
  }
  const { heartbeat, deadAfter } = config.recovery;
  if (deadAfter < 2 * heartbeat) {
    throw new ConfigError(
      `config ${where("recovery.deadAfter")}: ${formatDuration(deadAfter)} is less than twice ` +
        `${where("recovery.heartbeat")} ${formatDuration(heartbeat)}; one late beat would declare a live coordinator dead`,
    );
  }
}
