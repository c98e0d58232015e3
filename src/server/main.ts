import { App } from "./app";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./logger";

/**
 * `dtx [--config dtx.yaml | -c conf.yml] [--dtm-env]`: starts the coordinator. The file is dtx's YAML or
 * dtm's (recognized by its capitalized keys); `--dtm-env` also reads dtm's environment names. Without
 * `store.url` (DTX_STORE_URL) it keeps its data in the embedded PGlite store under `store.dataDir`.
 * SIGTERM/SIGINT stop it gracefully.
 */
async function main(argv: string[]): Promise<void> {
  const i = argv.findIndex((a) => a === "--config" || a === "-c");
  const file = i >= 0 ? argv[i + 1] : undefined;
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(
      "usage: dtx [--config dtx.yaml | -c dtm-conf.yml] [--dtm-env]   (every key also as DTX_* env)\n",
    );
    return;
  }
  const warnings: string[] = [];
  let config;
  try {
    config = loadConfig({ file, dtmEnv: argv.includes("--dtm-env"), warn: (m) => warnings.push(m) });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  const logger = createLogger(config.log.level);
  for (const warning of warnings) logger.warn(warning);
  let app: App;
  try {
    app = await App.start(config, { logger });
  } catch (err) {
    if ((err as Error).name === "StartupError") fail((err as Error).message, 1);
    throw err;
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, "stopping");
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.logger.error({ err }, "unclean stop");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** One line on stderr and the exit: what an operator needs to fix, no stack trace. */
function fail(message: string, code: number): never {
  process.stderr.write(`dtx: ${message}\n`);
  process.exit(code);
}

main(process.argv.slice(2)).catch((err) => {
  // not one of the foreseen causes: still one line, the stack only when asked for (DTX_LOG_LEVEL=debug)
  const verbose = /^(debug|trace)$/i.test(process.env.DTX_LOG_LEVEL ?? "");
  const text = verbose ? ((err as Error).stack ?? String(err)) : String((err as Error).message ?? err);
  fail(`cannot start: ${text}`, 1);
});
