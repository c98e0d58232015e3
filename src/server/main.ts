import cluster from "node:cluster";
import { App } from "./app";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./logger";
import { announceReady, runPrimary } from "./workers";

/**
 * `dtx [--config dtx.yaml]`: starts the coordinator. Without `store.url` (DTX_STORE_URL) it keeps
 * its data in the embedded PGlite store under `store.dataDir`. SIGTERM/SIGINT stop it gracefully. With
 * `server.workers` > 1 this process is the primary of that many coordinator processes (workers.ts).
 */
async function main(argv: string[]): Promise<void> {
  const i = argv.findIndex((a) => a === "--config" || a === "-c");
  const file = i >= 0 ? argv[i + 1] : undefined;
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(
      "usage: dtx [--config dtx.yaml]   (every key also as DTX_* env, see dtx.example.yaml)\n",
    );
    return;
  }
  let config;
  try {
    config = loadConfig({ file });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  if (config.server.workers > 1 && cluster.isPrimary) {
    process.exit(await runPrimary(config.server.workers, createLogger(config.log.level)));
  }
  let app: App;
  try {
    app = await App.start(config);
  } catch (err) {
    if ((err as Error).name === "StartupError") fail((err as Error).message, 1);
    throw err;
  }
  if (cluster.isWorker) announceReady(app.ports);
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
