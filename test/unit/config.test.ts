import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ConfigError, defaultConfig, envVarName, loadConfig } from "../../src/server/config";
import { formatDuration, parseDuration } from "../../src/server/duration";
import { createLogger } from "../../src/server/logger";

let dir: string;
let seq = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "dtx-config-test-"));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a YAML file into the test's temp directory and returns its path. */
function yamlFile(text: string): string {
  const file = join(dir, `dtx-${++seq}.yaml`);
  writeFileSync(file, text);
  return file;
}

/** Runs `fn`, expecting a ConfigError, and returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).name).toBe("ConfigError");
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("defaults", () => {
  test("defaultConfig has the documented values", () => {
    expect(defaultConfig()).toEqual({
      server: {
        host: "127.0.0.1",
        ports: [36789, 36790],
        maxBodyBytes: 1048576,
        maxHeaderBytes: 16384,
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
      limits: { maxSteps: 1000, maxGidLength: 128, maxPageSize: 1000, maxPayloadBytes: 262144 },
      alert: { webhook: "", retryLimit: 3 },
      metrics: { enabled: true, refreshInterval: 15_000 },
      retention: { finished: 0, interval: 60_000, batchSize: 500 },
      otel: { endpoint: "", serviceName: "dtx" },
      admin: { token: "", tokenFile: "" },
      log: { level: "info", format: "auto" },
    });
  });

  test("server.workers: a positive integer; more than 1 only with Postgres", () => {
    const url = "postgres://dtx@db:5432/dtx";
    expect(loadConfig({ env: { DTX_SERVER_WORKERS: "2", DTX_STORE_URL: url } }).server.workers).toBe(2);
    expect(() => loadConfig({ env: { DTX_SERVER_WORKERS: "2" } })).toThrow(
      "config server.workers (env DTX_SERVER_WORKERS): 2 workers need Postgres (store.url); " +
        "the embedded store (store.dataDir) is open in one process only",
    );
    expect(() => loadConfig({ env: { DTX_SERVER_WORKERS: "0", DTX_STORE_URL: url } })).toThrow(
      "server.workers (env DTX_SERVER_WORKERS)",
    );
  });

  test("alert.webhook must be an http(s) URL or empty; alert.retryLimit a positive integer", () => {
    const env = { DTX_ALERT_WEBHOOK: "https://hooks.example/dtx", DTX_ALERT_RETRY_LIMIT: "5" };
    expect(loadConfig({ env }).alert).toEqual({ webhook: "https://hooks.example/dtx", retryLimit: 5 });
    expect(() => loadConfig({ env: { DTX_ALERT_WEBHOOK: "hooks.example" } })).toThrow(
      'config alert.webhook (env DTX_ALERT_WEBHOOK): "hooks.example" is not an http(s) URL',
    );
    expect(() => loadConfig({ env: { DTX_ALERT_RETRY_LIMIT: "0" } })).toThrow(
      'config alert.retryLimit (env DTX_ALERT_RETRY_LIMIT): "0" is not a positive integer',
    );
  });

  test("defaultConfig returns a fresh object each time", () => {
    const a = defaultConfig();
    a.server.ports.push(1);
    expect(defaultConfig().server.ports).toEqual([36789, 36790]);
  });

  test("loadConfig with nothing set gives the defaults", () => {
    expect(loadConfig({ env: {} })).toEqual(defaultConfig());
  });

  test("unrelated variables and the DTX_ variables of other tools are ignored", () => {
    const env = {
      PATH: "/bin",
      DTX_TEST_PG_URL: "postgres://x",
      DTX_BENCH_DATABASE_URL: "postgres://y",
      DTX_URL: "http://127.0.0.1:36789",
      DTX_GRPC: "127.0.0.1:36790",
      DTX_CONFIG: "",
    };
    expect(loadConfig({ env })).toEqual(defaultConfig());
  });

  test("an unknown DTX_ variable is an error naming it and the nearest known one", () => {
    expect(configError(() => loadConfig({ env: { DTX_RETRY_INTERVALL: "5s" } }))).toBe(
      "config env DTX_RETRY_INTERVALL: unknown variable (no configuration key is called that); " +
        "did you mean DTX_RETRY_INTERVAL?",
    );
    expect(configError(() => loadConfig({ env: { DTX_STORE: "x", DTX_COLOUR: "1" } }))).toBe(
      "config env DTX_COLOUR: unknown variable (no configuration key is called that)",
    );
  });

  test("the names other tools use for the database URL, a port or a host point to dtx's", () => {
    const unknown = "unknown variable (no configuration key is called that)";
    const url = "postgres://postgres@127.0.0.1:5432/dtx";
    expect(configError(() => loadConfig({ env: { DTX_DATABASE_URL: url } }))).toBe(
      `config env DTX_DATABASE_URL: ${unknown}; did you mean DTX_STORE_URL?`,
    );
    expect(configError(() => loadConfig({ env: { DTX_PG_URL: url } }))).toBe(
      `config env DTX_PG_URL: ${unknown}; did you mean DTX_STORE_URL?`,
    );
    expect(configError(() => loadConfig({ env: { DTX_PORT: "36789" } }))).toBe(
      `config env DTX_PORT: ${unknown}; did you mean DTX_SERVER_PORTS?`,
    );
    expect(configError(() => loadConfig({ env: { DTX_HOST: "0.0.0.0" } }))).toBe(
      `config env DTX_HOST: ${unknown}; did you mean DTX_SERVER_HOST?`,
    );
  });

  test("store.url must be a Postgres URL or empty; the message hides the password", () => {
    expect(loadConfig({ env: { DTX_STORE_URL: "postgresql://u@h/db" } }).store.url).toBe(
      "postgresql://u@h/db",
    );
    expect(configError(() => loadConfig({ env: { DTX_STORE_URL: "mysql://root:secret@db:3306/dtm" } }))).toBe(
      'config store.url (env DTX_STORE_URL): "mysql://root:***@db:3306/dtm" is not supported: dtx stores ' +
        "in Postgres (postgres://…), or in the embedded PGlite when store.url is empty",
    );
    expect(configError(() => loadConfig({ overrides: { store: { url: "localhost:5432" } } }))).toContain(
      'config store.url (overrides): "localhost:5432" is not supported',
    );
  });

  test("dtx.example.yaml documents exactly the defaults", () => {
    const example = join(__dirname, "..", "..", "dtx.example.yaml");
    expect(loadConfig({ file: example, env: {} })).toEqual(defaultConfig());
  });
});

describe("durations", () => {
  test.each([
    ["500ms", 500],
    ["10s", 10_000],
    ["1.5s", 1_500],
    ["2m", 120_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["1m30s250ms", 90_250],
    ["30d", 2_592_000_000],
    [" 10s ", 10_000],
    ["250", 250],
    ["0", 0],
    [250, 250],
    [0.4, 0],
  ])("parseDuration(%p) = %p ms", (text, ms) => {
    expect(parseDuration(text, "k")).toBe(ms);
  });

  test.each(["10 parsecs", "", "s", "-5s", "1w", "10S", "1h 30m", "1e3"])(
    "parseDuration(%p) throws naming the key",
    (text) => {
      expect(configError(() => parseDuration(text, "retry.interval"))).toBe(
        `config retry.interval: ${JSON.stringify(text)} is not a duration (use 500ms, 10s, 2m, 1h)`,
      );
    },
  );

  test("negative and non-finite numbers are not durations", () => {
    expect(configError(() => parseDuration(-1, "x"))).toBe(
      "config x: -1 is not a duration (use 500ms, 10s, 2m, 1h)",
    );
    expect(configError(() => parseDuration(NaN, "x"))).toMatch(/^config x: NaN is not a duration/);
  });

  test.each([
    [0, "0ms"],
    [250, "250ms"],
    [1_500, "1.5s"],
    [10_000, "10s"],
    [120_000, "2m"],
    [3_600_000, "1h"],
    [5_400_000, "1h30m"],
    [3_605_000, "1h5s"],
    [90_250, "1m30.25s"],
  ])("formatDuration(%p) = %p and parses back", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text, "k")).toBe(ms);
  });

  test("durations with units from YAML and env", () => {
    const file = yamlFile(
      "retry:\n  interval: 1.5s\n  maxInterval: 1h30m\nbranch:\n  requestTimeout: 750ms\n",
    );
    const config = loadConfig({ file, env: { DTX_RECOVERY_LEASE: "2m", DTX_TIMEOUT_TO_FAIL: "500ms" } });
    expect(config.retry).toEqual({ interval: 1_500, maxInterval: 5_400_000 });
    expect(config.branch.requestTimeout).toBe(750);
    expect(config.recovery.lease).toBe(120_000);
    expect(config.timeoutToFail).toBe(500);
  });
});

describe("sources", () => {
  test("YAML merges over the defaults, keeping unset keys", () => {
    const file = yamlFile(
      [
        "server:",
        "  host: 127.0.0.1",
        "  ports: [8080]",
        "store:",
        "  url: postgres://dtx@localhost/dtx",
        "  schema: dtx_test",
        "recovery:",
        "  enabled: false",
        "  batchSize: 8",
        "log:",
        "  level: debug",
        "limits:",
        "  # everything commented out",
        "",
      ].join("\n"),
    );
    const config = loadConfig({ file, env: {} });
    const expected = defaultConfig();
    expected.server.host = "127.0.0.1";
    expected.server.ports = [8080];
    expected.store.url = "postgres://dtx@localhost/dtx";
    expected.store.schema = "dtx_test";
    expected.recovery.enabled = false;
    expected.recovery.batchSize = 8;
    expected.log.level = "debug";
    expect(config).toEqual(expected);
  });

  test("an empty YAML file changes nothing", () => {
    expect(loadConfig({ file: yamlFile(""), env: {} })).toEqual(defaultConfig());
  });

  test("env beats YAML", () => {
    const file = yamlFile("retry:\n  interval: 5s\n  maxInterval: 2m\nstore:\n  url: postgres://yaml/db\n");
    const config = loadConfig({
      file,
      env: { DTX_RETRY_MAX_INTERVAL: "10m", DTX_STORE_URL: "postgres://env/db", DTX_LOG_LEVEL: "WARN" },
    });
    expect(config.retry).toEqual({ interval: 5_000, maxInterval: 600_000 });
    expect(config.store.url).toBe("postgres://env/db");
    expect(config.log.level).toBe("warn");
  });

  test("an empty DTX_STORE_URL switches back to the embedded store", () => {
    const file = yamlFile("store:\n  url: postgres://yaml/db\n");
    expect(loadConfig({ file, env: { DTX_STORE_URL: "" } }).store.url).toBe("");
  });

  test("ports list from env, comma-separated", () => {
    expect(loadConfig({ env: { DTX_SERVER_PORTS: "36789,36790" } }).server.ports).toEqual([36789, 36790]);
    expect(loadConfig({ env: { DTX_SERVER_PORTS: " 8080 , 9090 " } }).server.ports).toEqual([8080, 9090]);
    expect(loadConfig({ env: { DTX_SERVER_PORTS: "0" } }).server.ports).toEqual([0]);
    expect(loadConfig({ env: { DTX_SERVER_PORTS: "0,0" } }).server.ports).toEqual([0, 0]);
  });

  test("numbers and booleans from env", () => {
    const config = loadConfig({
      env: {
        DTX_SERVER_MAX_BODY_BYTES: "2048",
        DTX_STORE_POOL_SIZE: "5",
        DTX_RECOVERY_ENABLED: "false",
        DTX_LIMITS_MAX_GID_LENGTH: "64",
      },
    });
    expect(config.server.maxBodyBytes).toBe(2048);
    expect(config.store.poolSize).toBe(5);
    expect(config.recovery.enabled).toBe(false);
    expect(config.limits.maxGidLength).toBe(64);
    expect(loadConfig({ env: { DTX_RECOVERY_ENABLED: "1" } }).recovery.enabled).toBe(true);
  });

  test("overrides beat env and YAML", () => {
    const file = yamlFile("server:\n  ports: [1234]\n");
    const config = loadConfig({
      file,
      env: { DTX_SERVER_PORTS: "2345", DTX_STORE_DATA_DIR: "/var/lib/dtx" },
      overrides: { server: { ports: [0] }, store: { dataDir: "memory://" }, recovery: { pollInterval: 50 } },
    });
    expect(config.server.ports).toEqual([0]);
    expect(config.store.dataDir).toBe("memory://");
    expect(config.recovery.pollInterval).toBe(50);
  });

  test("DTX_CONFIG names the file when none is given", () => {
    const file = yamlFile("log:\n  level: error\n");
    expect(loadConfig({ env: { DTX_CONFIG: file } }).log.level).toBe("error");
    // env still beats the file DTX_CONFIG names
    expect(loadConfig({ env: { DTX_CONFIG: file, DTX_LOG_LEVEL: "trace" } }).log.level).toBe("trace");
  });

  test("an explicit file wins over DTX_CONFIG", () => {
    const named = yamlFile("log:\n  level: error\n");
    const explicit = yamlFile("log:\n  level: fatal\n");
    expect(loadConfig({ file: explicit, env: { DTX_CONFIG: named } }).log.level).toBe("fatal");
  });

  test("env defaults to process.env", () => {
    const saved = process.env.DTX_BRANCH_REQUEST_TIMEOUT;
    process.env.DTX_BRANCH_REQUEST_TIMEOUT = "7s";
    try {
      expect(loadConfig().branch.requestTimeout).toBe(7_000);
    } finally {
      if (saved === undefined) delete process.env.DTX_BRANCH_REQUEST_TIMEOUT;
      else process.env.DTX_BRANCH_REQUEST_TIMEOUT = saved;
    }
  });

  test.each([
    ["retry.maxInterval", "DTX_RETRY_MAX_INTERVAL"],
    ["store.url", "DTX_STORE_URL"],
    ["server.maxBodyBytes", "DTX_SERVER_MAX_BODY_BYTES"],
    ["timeoutToFail", "DTX_TIMEOUT_TO_FAIL"],
    ["limits.maxGidLength", "DTX_LIMITS_MAX_GID_LENGTH"],
  ])("envVarName(%p) = %p", (path, name) => {
    expect(envVarName(path)).toBe(name);
  });
});

describe("validation errors name their key", () => {
  test("unknown key in YAML", () => {
    const file = yamlFile("retry:\n  intervall: 10s\n");
    expect(configError(() => loadConfig({ file, env: {} }))).toBe(
      `config file ${file}: unknown key "retry.intervall"; did you mean retry.interval?`,
    );
  });

  test("unknown top-level key and unknown section in YAML", () => {
    const top = yamlFile("timeoutToFial: 10s\n");
    expect(configError(() => loadConfig({ file: top, env: {} }))).toBe(
      `config file ${top}: unknown key "timeoutToFial"; did you mean timeoutToFail?`,
    );
    const section = yamlFile("stores:\n  url: x\n");
    expect(configError(() => loadConfig({ file: section, env: {} }))).toBe(
      `config file ${section}: unknown key "stores"; did you mean store?`,
    );
  });

  test("version is not configurable", () => {
    const file = yamlFile("version: 1.2.3\n");
    expect(configError(() => loadConfig({ file, env: {} }))).toBe(
      `config file ${file}: "version" is not configurable`,
    );
  });

  test("a section that is not a mapping", () => {
    const file = yamlFile("retry: 10s\n");
    expect(configError(() => loadConfig({ file, env: {} }))).toBe(
      `config file ${file}: "retry" must be a mapping of keys, got "10s"`,
    );
  });

  test("unknown key in overrides", () => {
    const overrides = { retry: { intervall: 5 } } as never;
    expect(configError(() => loadConfig({ env: {}, overrides }))).toBe(
      'config overrides: unknown key "retry.intervall"; did you mean retry.interval?',
    );
  });

  test("bad duration in YAML and in env", () => {
    const file = yamlFile("retry:\n  interval: 10 parsecs\n");
    expect(configError(() => loadConfig({ file, env: {} }))).toBe(
      `config retry.interval (file ${file}): "10 parsecs" is not a duration (use 500ms, 10s, 2m, 1h)`,
    );
    expect(configError(() => loadConfig({ env: { DTX_RECOVERY_LEASE: "soon" } }))).toBe(
      'config recovery.lease (env DTX_RECOVERY_LEASE): "soon" is not a duration (use 500ms, 10s, 2m, 1h)',
    );
  });

  test("zero and overlong durations", () => {
    expect(configError(() => loadConfig({ env: { DTX_BRANCH_REQUEST_TIMEOUT: "0s" } }))).toBe(
      "config branch.requestTimeout (env DTX_BRANCH_REQUEST_TIMEOUT): must be greater than 0",
    );
    expect(configError(() => loadConfig({ env: {}, overrides: { recovery: { lease: 0 } } }))).toBe(
      "config recovery.lease (overrides): must be greater than 0",
    );
    expect(configError(() => loadConfig({ env: { DTX_TIMEOUT_TO_FAIL: "1000h" } }))).toMatch(
      /^config timeoutToFail \(env DTX_TIMEOUT_TO_FAIL\): "1000h" is too long/,
    );
    // a graceful stop may skip waiting
    expect(loadConfig({ env: { DTX_SERVER_SHUTDOWN_TIMEOUT: "0" } }).server.shutdownTimeout).toBe(0);
  });

  test.each([
    ["70000", '"70000" is not a port (0-65535)'],
    ["-1", '"-1" is not a port (0-65535)'],
    ["http", '"http" is not a port (0-65535)'],
    ["80,", '"" is not a port (0-65535)'],
    ["", "needs at least one port"],
    ["8080,8080", "port 8080 is listed twice"],
  ])("bad port %p in env", (value, problem) => {
    expect(configError(() => loadConfig({ env: { DTX_SERVER_PORTS: value } }))).toBe(
      `config server.ports (env DTX_SERVER_PORTS): ${problem}`,
    );
  });

  test("bad port in YAML", () => {
    const file = yamlFile("server:\n  ports: [36789, 65536]\n");
    expect(configError(() => loadConfig({ file, env: {} }))).toBe(
      `config server.ports (file ${file}): 65536 is not a port (0-65535)`,
    );
    const empty = yamlFile("server:\n  ports: []\n");
    expect(configError(() => loadConfig({ file: empty, env: {} }))).toBe(
      `config server.ports (file ${empty}): needs at least one port`,
    );
  });

  test("retry.maxInterval below retry.interval", () => {
    const file = yamlFile("retry:\n  interval: 30s\n");
    expect(configError(() => loadConfig({ file, env: { DTX_RETRY_MAX_INTERVAL: "10s" } }))).toBe(
      `config retry.maxInterval (env DTX_RETRY_MAX_INTERVAL): 10s is less than retry.interval (file ${file}) 30s;` +
        " the backoff cap must be at least the interval",
    );
    expect(
      configError(() => loadConfig({ env: {}, overrides: { retry: { interval: 2 * 3_600_000 } } })),
    ).toBe(
      "config retry.maxInterval: 1h is less than retry.interval (overrides) 2h; the backoff cap must be at least the interval",
    );
  });

  test("bad log level", () => {
    expect(configError(() => loadConfig({ env: { DTX_LOG_LEVEL: "verbose" } }))).toBe(
      'config log.level (env DTX_LOG_LEVEL): "verbose" is not a log level ' +
        "(use trace, debug, info, warn, error, fatal, silent)",
    );
  });

  test.each([
    ["DTX_STORE_POOL_SIZE", "0", "store.poolSize"],
    ["DTX_RECOVERY_BATCH_SIZE", "1.5", "recovery.batchSize"],
    ["DTX_RECOVERY_CONCURRENCY", "-3", "recovery.concurrency"],
    ["DTX_LIMITS_MAX_STEPS", "many", "limits.maxSteps"],
    ["DTX_SERVER_MAX_BODY_BYTES", "1MB", "server.maxBodyBytes"],
  ])("%s=%p is not a positive integer", (name, value, path) => {
    expect(configError(() => loadConfig({ env: { [name]: value } }))).toBe(
      `config ${path} (env ${name}): ${JSON.stringify(value)} is not a positive integer`,
    );
  });

  test("recovery.nice is an integer from 0 to 19; recovery.thread a boolean", () => {
    expect(loadConfig({ env: { DTX_RECOVERY_NICE: "0" } }).recovery.nice).toBe(0);
    expect(
      loadConfig({ env: { DTX_RECOVERY_NICE: "19", DTX_RECOVERY_THREAD: "false" } }).recovery,
    ).toMatchObject({
      nice: 19,
      thread: false,
    });
    for (const bad of ["20", "-1", "low"]) {
      expect(configError(() => loadConfig({ env: { DTX_RECOVERY_NICE: bad } }))).toBe(
        `config recovery.nice (env DTX_RECOVERY_NICE): ${JSON.stringify(bad)} is not an integer from 0 to 19`,
      );
    }
  });

  test("bad boolean, empty host, bad schema", () => {
    expect(configError(() => loadConfig({ env: { DTX_RECOVERY_ENABLED: "maybe" } }))).toBe(
      'config recovery.enabled (env DTX_RECOVERY_ENABLED): "maybe" is not a boolean (use true or false)',
    );
    expect(configError(() => loadConfig({ env: { DTX_SERVER_HOST: "" } }))).toBe(
      "config server.host (env DTX_SERVER_HOST): must not be empty",
    );
    expect(configError(() => loadConfig({ env: { DTX_STORE_SCHEMA: "dtx; drop table x" } }))).toMatch(
      /^config store\.schema \(env DTX_STORE_SCHEMA\): "dtx; drop table x" is not a lowercase Postgres identifier/,
    );
  });

  test("wrong YAML types", () => {
    const host = yamlFile("server:\n  host: 5\n");
    expect(configError(() => loadConfig({ file: host, env: {} }))).toBe(
      `config server.host (file ${host}): 5 is not a string`,
    );
    const level = yamlFile("log:\n  level: [info]\n");
    expect(configError(() => loadConfig({ file: level, env: {} }))).toBe(
      `config log.level (file ${level}): ["info"] is not a log level (use trace, debug, info, warn, error, fatal, silent)`,
    );
    const enabled = yamlFile("recovery:\n  enabled: {}\n");
    expect(configError(() => loadConfig({ file: enabled, env: {} }))).toBe(
      `config recovery.enabled (file ${enabled}): {} is not a boolean (use true or false)`,
    );
  });

  test("missing file and invalid YAML name the file", () => {
    const missing = join(dir, "nope.yaml");
    expect(configError(() => loadConfig({ file: missing, env: {} }))).toContain(
      `config file ${missing}: cannot read it (ENOENT`,
    );
    const broken = yamlFile("retry:\n  interval: [10s\n");
    expect(configError(() => loadConfig({ file: broken, env: {} }))).toContain(
      `config file ${broken}: invalid YAML: `,
    );
    const missingViaEnv = join(dir, "also-nope.yaml");
    expect(configError(() => loadConfig({ env: { DTX_CONFIG: missingViaEnv } }))).toContain(
      `config file ${missingViaEnv}: cannot read it`,
    );
  });
});

describe("createLogger", () => {
  test("writes JSON lines with service and err, and scoped children", () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = createLogger("info", sink);
    logger.debug("hidden");
    logger.child({ gid: "g1" }).error({ err: new Error("boom") }, "branch call failed");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      service: "dtx",
      gid: "g1",
      message: "branch call failed",
      level: "error",
    });
    expect(lines[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(lines[0].err).toMatchObject({ type: "Error", message: "boom" });
    expect(String((lines[0].err as { stack: string }).stack)).toContain("boom");
  });
});
