import type pino from "pino";
import { destinationOf } from "./logger";

/** How long an exit waits for log lines a reader has not taken yet. */
const LOG_DRAIN_BOUND_MS = 2000;

/** The part of pino's stdout destination (sonic-boom) an exit needs. */
interface LogDestination {
  fd?: unknown;
  end(): void;
  flushSync(): void;
  once(event: "close" | "error", listener: () => void): unknown;
}

/**
 * Ends the process with `code` once the log lines written so far are out — or once stdout turns out
 * to be a closed pipe, or after a bound for a reader that stopped reading. Calling `process.exit` with
 * lines still queued makes pino flush them synchronously at exit, and that flush retries a closed pipe
 * (EPIPE) or a full one (EAGAIN) forever: a coordinator whose log consumer died or hung would never
 * stop. Ending the destination first writes the queue asynchronously, where a closed pipe is an error
 * pino turns into silence; lines a reader has not taken within the bound are dropped.
 */
export function exitAfterLogs(logger: pino.Logger, code: number): void {
  const dest = destinationOf(logger) as Partial<LogDestination> | undefined;
  // only pino's own file-descriptor destination queues lines (pretty output and test streams write at once)
  if (typeof dest?.fd !== "number" || typeof dest.end !== "function" || typeof dest.once !== "function") {
    process.exit(code);
    return;
  }
  const exit = (): never => {
    // what is still queued now stays unwritten: pino's flush at exit would retry a full pipe (EAGAIN,
    // a reader that stopped reading) or a closed one forever, and the process would never end
    dest.flushSync = () => undefined;
    return process.exit(code);
  };
  setTimeout(exit, LOG_DRAIN_BOUND_MS);
  dest.once("close", exit);
  dest.once("error", exit);
  dest.end();
}
