/**
 * Configuration mistakes a user makes, each refused in one line naming the key, the value and what
 * would be accepted; and dtm's configuration (its file, its environment names) mapped onto dtx's keys.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, defaultConfig, loadConfig } from "../../src/server/config";

let dir: string;
let seq = 0;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dtx-config-dtm-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const path = join(dir, `conf-${++seq}.yml`);
  writeFileSync(path, text);
  return path;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

/** dtm's conf.sample.yml with its postgres store section uncommented. */
const DTM_SAMPLE = `
Store: # specify which engine to store trans status
  Driver: 'postgres'
  Host: 'db.internal'
  User: 'postgres'
  Password: 'my secret/password'
  Port: '5432'
  Db: 'dtm'
  Schema: 'dtx_data'
  MaxOpenConns: 50
  MaxIdleConns: 500
  ConnMaxLifeTime: 5
MicroService:
  Driver: 'dtm-driver-gozero'
  Target: 'etcd://localhost:2379/dtmservice'
  EndPoint: 'localhost:36790'
# the unit of following configurations is second
TransCronInterval: 3
TimeoutToFail: 35
RetryInterval: 15
RequestTimeout: 4
UpdateBranchAsyncGoroutineNum: 1
LogLevel: 'warn'
HttpPort: 46789
GrpcPort: 46790
AlertRetryLimit: 5
AlertWebHook: 'https://hooks.example/dtm'
`;

describe("durations need a unit", () => {
  test.each([
    [{ DTX_RETRY_INTERVAL: "10" }, "retry.interval (env DTX_RETRY_INTERVAL)", '"10"', "10"],
    [{ DTX_RECOVERY_LEASE: "2.5" }, "recovery.lease (env DTX_RECOVERY_LEASE)", '"2.5"', "2.5"],
  ])("%p is refused with an example", (env, key, shown, n) => {
    expect(configError(() => loadConfig({ env }))).toBe(
      `config ${key}: ${shown} has no unit; write it with one, e.g. ${n}s or ${n}ms ` +
        "(dtx would read a bare number as milliseconds, dtm as seconds)",
    );
  });

  test("a bare number in the YAML file too; zero needs no unit; overrides stay milliseconds", () => {
    const yaml = file("retry:\n  interval: 10\n");
    expect(configError(() => loadConfig({ file: yaml, env: {} }))).toBe(
      `config retry.interval (file ${yaml}): 10 has no unit; write it with one, e.g. 10s or 10ms ` +
        "(dtx would read a bare number as milliseconds, dtm as seconds)",
    );
    expect(loadConfig({ env: { DTX_SERVER_SHUTDOWN_TIMEOUT: "0" } }).server.shutdownTimeout).toBe(0);
    expect(loadConfig({ env: {}, overrides: { retry: { interval: 20_000 } } }).retry.interval).toBe(20_000);
  });
});

describe("branch.allowedTargets", () => {
  test("host patterns and CIDRs, from YAML or comma-separated from the environment", () => {
    const env = { DTX_BRANCH_ALLOWED_TARGETS: "bank, *.svc.cluster.local,10.0.0.0/8,api.example.com:8443" };
    expect(loadConfig({ env }).branch.allowedTargets).toEqual([
      "bank",
      "*.svc.cluster.local",
      "10.0.0.0/8",
      "api.example.com:8443",
    ]);
    const yaml = file("branch:\n  allowedTargets: [bank, 'fd00::/8']\n");
    expect(loadConfig({ file: yaml, env: {} }).branch.allowedTargets).toEqual(["bank", "fd00::/8"]);
  });

  test("an entry that is neither is refused, naming it", () => {
    expect(configError(() => loadConfig({ env: { DTX_BRANCH_ALLOWED_TARGETS: "bank,http://x/y" } }))).toBe(
      'config branch.allowedTargets (env DTX_BRANCH_ALLOWED_TARGETS): "http://x/y" is neither a host pattern ' +
        "(bank, *.svc.cluster.local, host:8080) nor a CIDR (10.0.0.0/8)",
    );
    expect(configError(() => loadConfig({ env: { DTX_BRANCH_ALLOWED_TARGETS: "10.0.0.0/33" } }))).toBe(
      'config branch.allowedTargets (env DTX_BRANCH_ALLOWED_TARGETS): "10.0.0.0/33" has a prefix longer than 32 bits',
    );
  });
});

describe("dtm's configuration file", () => {
  test("dtm's sample file with the postgres driver maps every key dtx has, in dtm's units", () => {
    const conf = file(DTM_SAMPLE);
    const warnings: string[] = [];
    const config = loadConfig({ file: conf, env: {}, warn: (m) => warnings.push(m) });
    const expected = defaultConfig();
    expected.store.url = "postgres://postgres:my%20secret%2Fpassword@db.internal:5432/dtm";
    expected.store.schema = "dtx_data";
    expected.store.poolSize = 50;
    expected.recovery.pollInterval = 3_000;
    expected.timeoutToFail = 35_000;
    expected.retry.interval = 15_000;
    expected.branch.requestTimeout = 4_000;
    expected.log.level = "warn";
    expected.server.ports = [46789, 46790];
    expected.alert = { webhook: "https://hooks.example/dtm", retryLimit: 5 };
    expect(config).toEqual(expected);
    expect(warnings).toEqual([
      "dtm configuration keys dtx does not use (ignored): Store.MaxIdleConns, Store.ConnMaxLifeTime, " +
        "MicroService.Driver, MicroService.Target, MicroService.EndPoint, UpdateBranchAsyncGoroutineNum",
    ]);
  });

  test.each(["mysql", "redis", "boltdb"])("the %s driver is refused in one line", (driver) => {
    const conf = file(`Store:\n  Driver: '${driver}'\n  Host: localhost\n  Port: 3306\n  User: root\n`);
    expect(configError(() => loadConfig({ file: conf, env: {} }))).toBe(
      `config dtm file ${conf}: Store.Driver: "${driver}" is not supported: dtx stores in Postgres ` +
        "(Driver: postgres) or in the embedded PGlite (no Store section)",
    );
  });

  test("postgres without a host is refused as dtm refuses it", () => {
    const conf = file("Store:\n  Driver: postgres\n  Port: 5432\n  User: u\n");
    expect(configError(() => loadConfig({ file: conf, env: {} }))).toBe(
      `config dtm file ${conf}: Store.Driver: postgres needs Store.Host as well`,
    );
  });

  test("a mistyped dtm key is refused, naming the nearest; a seconds value that is no number too", () => {
    const typo = file("RetryIntervall: 10\n");
    expect(configError(() => loadConfig({ file: typo, env: {} }))).toBe(
      `config dtm file ${typo}: unknown key "RetryIntervall"; did you mean RetryInterval?`,
    );
    const text = file("RetryInterval: 10s\n");
    expect(configError(() => loadConfig({ file: text, env: {} }))).toBe(
      `config dtm file ${text}: RetryInterval: "10s" is not a number of seconds`,
    );
  });

  test("a file mixing dtm's keys and dtx's is refused", () => {
    const mixed = file("RetryInterval: 10\nretry:\n  maxInterval: 1m\n");
    expect(configError(() => loadConfig({ file: mixed, env: {} }))).toBe(
      `config file ${mixed}: mixes dtm keys (RetryInterval) and dtx keys (retry); use one file of each kind`,
    );
  });

  test("DTX_* variables beat the dtm file", () => {
    const conf = file("RetryInterval: 15\n");
    expect(loadConfig({ file: conf, env: { DTX_RETRY_INTERVAL: "20s" } }).retry.interval).toBe(20_000);
  });
});

describe("dtm's environment names", () => {
  const env = {
    STORE_DRIVER: "postgres",
    STORE_HOST: "pg",
    STORE_PORT: "5432",
    STORE_USER: "dtm",
    STORE_PASSWORD: "pw",
    HTTP_PORT: "8080",
    RETRY_INTERVAL: "12",
    LOG_OUTPUTS: "stdout",
  };

  test("are read only with --dtm-env (they are generic names)", () => {
    expect(loadConfig({ env })).toEqual(defaultConfig());
    const warnings: string[] = [];
    const config = loadConfig({ env, dtmEnv: true, warn: (m) => warnings.push(m) });
    expect(config.store.url).toBe("postgres://dtm:pw@pg:5432/dtm");
    expect(config.server.ports).toEqual([8080, 36790]);
    expect(config.retry.interval).toBe(12_000);
    expect(warnings).toEqual(["dtm configuration keys dtx does not use (ignored): Log.Outputs"]);
  });

  test("the dtm file beats them, as in dtm", () => {
    const conf = file("RetryInterval: 30\n");
    expect(loadConfig({ env, dtmEnv: true, file: conf }).retry.interval).toBe(30_000);
  });

  test("a store driver dtx cannot use is refused, naming the variable", () => {
    expect(configError(() => loadConfig({ env: { STORE_DRIVER: "redis" }, dtmEnv: true }))).toBe(
      'config dtm env STORE_DRIVER: "redis" is not supported: dtx stores in Postgres (Driver: postgres) ' +
        "or in the embedded PGlite (no Store section)",
    );
  });
});

describe("admin token", () => {
  test("listening beyond loopback without a token refuses to start, saying what to set", () => {
    expect(configError(() => loadConfig({ env: { DTX_SERVER_HOST: "0.0.0.0" } }))).toBe(
      "config server.host (env DTX_SERVER_HOST): 0.0.0.0 serves beyond this machine, so the admin API needs " +
        "a token: set admin.token (DTX_ADMIN_TOKEN, e.g. openssl rand -hex 32) or admin.tokenFile, or listen on 127.0.0.1",
    );
    const env = { DTX_SERVER_HOST: "0.0.0.0", DTX_ADMIN_TOKEN: "0123456789abcdef0123" };
    expect(loadConfig({ env }).admin.token).toBe("0123456789abcdef0123");
    expect(loadConfig({ env: { DTX_SERVER_HOST: "::1" } }).server.host).toBe("::1");
  });

  test("a short token is refused", () => {
    expect(configError(() => loadConfig({ env: { DTX_ADMIN_TOKEN: "secret" } }))).toBe(
      'config admin.token (env DTX_ADMIN_TOKEN): "secret" must be 16 or more characters without spaces',
    );
  });
});
