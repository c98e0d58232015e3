/**
 * dtm's configuration (its YAML file, given with dtm's `-c`, and with `--dtm-env` its environment names)
 * mapped onto dtx's keys, in dtm's units: dtm's seconds stay seconds. What dtx has no equivalent for is
 * listed once; a store dtx cannot use is refused in one line.
 */
import { ConfigError } from "./duration";
import { didYouMean } from "./nearest";

/** One dtx key set from dtm's configuration: the value in dtx's text form (`10s`), and where it came from. */
export interface DtmSetting {
  path: string;
  value: unknown;
  origin: string;
}

/** dtm keys with a dtx equivalent, in seconds. */
const SECONDS: Record<string, string> = {
  RetryInterval: "retry.interval",
  TimeoutToFail: "timeoutToFail",
  RequestTimeout: "branch.requestTimeout",
  TransCronInterval: "recovery.pollInterval",
};

/** dtm keys with a dtx equivalent taken as they are. */
const PLAIN: Record<string, string> = {
  LogLevel: "log.level",
  AlertRetryLimit: "alert.retryLimit",
  AlertWebHook: "alert.webhook",
  "Store.MaxOpenConns": "store.poolSize",
  "Store.Schema": "store.schema",
};

/** dtm keys that make up dtx's `store.url` and `server.ports`. */
const STORE = ["Store.Driver", "Store.Host", "Store.Port", "Store.User", "Store.Password", "Store.Db"];
const PORTS = ["HttpPort", "GrpcPort"];

/** dtm keys dtx has no use for (listed at start when set). */
const UNUSED = [
  "Store.MaxIdleConns",
  "Store.ConnMaxLifeTime",
  "Store.DataExpire",
  "Store.FinishedDataExpire",
  "Store.RedisPrefix",
  "Store.TransGlobalTable",
  "Store.TransBranchOpTable",
  "JsonRpcPort",
  "MicroService.Driver",
  "MicroService.Target",
  "MicroService.EndPoint",
  "HttpMicroService.Driver",
  "HttpMicroService.RegistryType",
  "HttpMicroService.RegistryAddress",
  "HttpMicroService.RegistryOptions",
  "HttpMicroService.Target",
  "HttpMicroService.EndPoint",
  "UpdateBranchSync",
  "UpdateBranchAsyncGoroutineNum",
  "Log.Outputs",
  "Log.RotationEnable",
  "Log.RotationConfigJSON",
  "TimeZoneOffset",
  "ConfigUpdateInterval",
  "AdminBasePath",
  "GrpcServiceConfig",
  "GrpcBalancer",
];

const KNOWN = [...Object.keys(SECONDS), ...Object.keys(PLAIN), ...STORE, ...PORTS, ...UNUSED];

/** dtm's environment name of a key: `MicroService.EndPoint` → `MICRO_SERVICE_END_POINT`. */
export function dtmEnvName(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/\./g, "_")
    .toUpperCase();
}

/**
 * Whether a parsed YAML file is dtm's (its keys are capitalized, `Store`, `RetryInterval`) rather than
 * dtx's (`store`, `retry`). A file mixing both is refused.
 */
export function isDtmTree(tree: unknown, origin: string): boolean {
  if (typeof tree !== "object" || tree === null || Array.isArray(tree)) return false;
  const keys = Object.keys(tree);
  const dtm = keys.filter((k) => /^[A-Z]/.test(k));
  if (dtm.length === 0) return false;
  if (dtm.length < keys.length) {
    const dtx = keys.find((k) => !/^[A-Z]/.test(k));
    throw new ConfigError(
      `config ${origin}: mixes dtm keys (${dtm[0]}) and dtx keys (${dtx}); use one file of each kind`,
    );
  }
  return true;
}

/**
 * The dtx settings of dtm's configuration: the environment (only what `env` holds; pass `{}` without
 * `--dtm-env`), then the file over it, as dtm loads them.
 *
 * @throws ConfigError for an unknown dtm key (naming the nearest), a value that is no number of
 *   seconds, or a store driver other than postgres
 */
export function dtmSettings(
  env: NodeJS.ProcessEnv,
  file: { tree: unknown; file: string } | undefined,
): { settings: DtmSetting[]; unused: string[] } {
  const values = new Map<string, { raw: unknown; origin: string }>();
  for (const key of KNOWN) {
    const raw = env[dtmEnvName(key)];
    if (raw !== undefined && raw !== "") values.set(key, { raw, origin: `dtm env ${dtmEnvName(key)}` });
  }
  if (file !== undefined) {
    for (const [key, raw] of flatten(file.tree, "")) {
      if (!KNOWN.includes(key)) {
        throw new ConfigError(`config dtm file ${file.file}: unknown key "${key}"${didYouMean(key, KNOWN)}`);
      }
      if (raw !== null && raw !== undefined)
        values.set(key, { raw, origin: `dtm file ${file.file}: ${key}` });
    }
  }
  const settings: DtmSetting[] = [];
  for (const [key, path] of Object.entries(SECONDS)) {
    const v = values.get(key);
    if (v) settings.push({ path, value: `${seconds(v.raw, v.origin)}s`, origin: v.origin });
  }
  for (const [key, path] of Object.entries(PLAIN)) {
    const v = values.get(key);
    if (v)
      settings.push({ path, value: key === "Store.MaxOpenConns" ? String(v.raw) : v.raw, origin: v.origin });
  }
  const http = values.get("HttpPort");
  const grpc = values.get("GrpcPort");
  if (http || grpc) {
    const origin = (http ?? grpc)!.origin;
    settings.push({ path: "server.ports", value: [http?.raw ?? 36789, grpc?.raw ?? 36790], origin });
  }
  const url = storeUrl(values);
  if (url) settings.push(url);
  const unused = UNUSED.filter((k) => values.has(k));
  return { settings, unused };
}

/** `Store.*` as dtx's `store.url`; undefined when no driver is named (dtx's own store setting stays). */
function storeUrl(values: Map<string, { raw: unknown; origin: string }>): DtmSetting | undefined {
  const driver = values.get("Store.Driver");
  if (!driver) return undefined;
  const name = String(driver.raw).toLowerCase();
  if (name !== "postgres") {
    throw new ConfigError(
      `config ${driver.origin}: ${JSON.stringify(driver.raw)} is not supported: dtx stores in Postgres ` +
        `(Driver: postgres) or in the embedded PGlite (no Store section)`,
    );
  }
  const part = (key: string): string | undefined => {
    const v = values.get(key);
    return v === undefined ? undefined : String(v.raw);
  };
  for (const key of ["Store.Host", "Store.Port", "Store.User"]) {
    if (!part(key)) throw new ConfigError(`config ${driver.origin}: postgres needs ${key} as well`);
  }
  const password = part("Store.Password");
  const auth = encodeURIComponent(part("Store.User")!) + (password ? `:${encodeURIComponent(password)}` : "");
  const db = encodeURIComponent(part("Store.Db") ?? "dtm");
  return {
    path: "store.url",
    value: `postgres://${auth}@${part("Store.Host")}:${part("Store.Port")}/${db}`,
    origin: driver.origin,
  };
}

/** A whole or fractional number of seconds, as dtm writes durations. */
function seconds(raw: unknown, origin: string): number {
  const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() !== "" ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < 0) {
    throw new ConfigError(`config ${origin}: ${JSON.stringify(raw)} is not a number of seconds`);
  }
  return n;
}

/** A nested mapping as dotted keys and leaf values (`Store: {Driver: x}` → `Store.Driver`). */
function flatten(tree: unknown, prefix: string): [string, unknown][] {
  if (typeof tree !== "object" || tree === null || Array.isArray(tree)) return [[prefix, tree]];
  return Object.entries(tree).flatMap(([k, v]) => {
    const key = prefix === "" ? k : `${prefix}.${k}`;
    const nested = typeof v === "object" && v !== null && !Array.isArray(v) && !KNOWN.includes(key);
    return nested ? flatten(v, key) : [[key, v] as [string, unknown]];
  });
}
