import cluster from "node:cluster";
import { App } from "./app";
import { ConfigError, loadConfig } from "./config";
import { exitAfterLogs } from "./exit-after-logs";
import { createLogger } from "./logger";
import { announceReady, onStopRequest, runPrimary } from "./workers";

/** How the coordinator is started: the configuration file (dtx's or dtm's) and dtm's environment names. */
export interface ServeOptions {
  config?: string;
  dtmEnv?: boolean;
}

/**
 * Starts the coordinator until SIGTERM/SIGINT, which stop it gracefully. A start that cannot work ends
 * the process with one line on stderr: exit 2 for a configuration mistake, 1 for a port, store or
 * directory at fault. With `server.workers` > 1 this process supervises that many coordinator
 * processes, each of which runs this function again (workers.ts).
 */
export async function serve(opts: ServeOptions): Promise<void> {
  const warnings: string[] = [];
  let config;
  try {
    config = loadConfig({ file: opts.config, dtmEnv: opts.dtmEnv, warn: (m) => warnings.push(m) });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 2);
    throw err;
  }
  const logger = createLogger(config.log.level, undefined, config.log.format);
  // with server.workers > 1 the supervisor has said it already
  if (!cluster.isWorker) for (const warning of warnings) logger.warn(warning);
  if (config.server.workers > 1 && cluster.isPrimary) {
    const code = await runPrimary(config.server.workers, logger);
    exitAfterLogs(logger, code);
    return;
  }
  // signals are handled from before the start: the API serves before the start completes, and a
  // SIGTERM meanwhile (a supervisor's rollout) stops the coordinator gracefully once it has started
  const started = App.start(config, { logger });
  let stopping = false;
  let signals = 0;
  let cut = false;
  const stopAtOnce = (signal: string): void => {
    if (cut) return;
    cut = true;
    logger.warn({ signal }, "stopping at once: in-flight requests and passes are cut");
    exitAfterLogs(logger, 1);
  };
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping");
    started.then(
      (app) =>
        app.close().then(
          () => exitAfterLogs(logger, 0),
          (err) => {
            logger.error({ err }, "unclean stop");
            exitAfterLogs(logger, 1);
          },
        ),
      // a start that failed ends the process below
      () => undefined,
    );
  };
  const onSignal = (signal: string): void => {
    // a second signal: the operator does not want to wait for the graceful stop
    if (++signals > 1) stopAtOnce(signal);
    else stop(signal);
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  let app: App;
  try {
    app = await started;
  } catch (err) {
    if ((err as Error).name === "StartupError") fail((err as Error).message, 1);
    throw err;
  }
  if (cluster.isWorker) {
    // the primary's request is not counted as a signal: a terminal's Ctrl-C signals this worker and
    // the primary alike, and whichever arrives first, the other must not cut the graceful stop
    onStopRequest((now) => (now ? stopAtOnce("supervisor") : stop("supervisor")));
    announceReady(app.ports);
  }
}

/** One line on stderr and the exit: what an operator needs to fix, no stack trace. */
export function fail(message: string, code: number): never {
  process.stderr.write(`dtx: ${message}\n`);
  process.exit(code);
}

/** An unforeseen start failure: still one line, the stack only when asked for (DTX_LOG_LEVEL=debug). */
export function failUnexpected(err: unknown): never {
  const verbose = /^(debug|trace)$/i.test(process.env.DTX_LOG_LEVEL ?? "");
  const text = verbose ? ((err as Error).stack ?? String(err)) : String((err as Error).message ?? err);
  fail(`cannot start: ${text}`, 1);
}
