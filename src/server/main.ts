import { App } from "./app";
import { ConfigError, loadConfig } from "./config";

/**
 * `dtx [--config dtx.yaml]`: starts the coordinator. Without `store.url` (DTX_STORE_URL) it keeps
 * its data in the embedded PGlite store under `store.dataDir`. SIGTERM/SIGINT stop it gracefully.
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
    if (err instanceof ConfigError) {
      process.stderr.write(`dtx: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await App.start(config);
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

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`dtx: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
