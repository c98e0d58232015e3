import pino from "pino";

/** How long an exit waits for log lines a reader has not taken yet. */
const LOG_DRAIN_BOUND_MS = 2000;

/** The part of pino's stdout destination (sonic-boom) an exit needs. */
interface LogDestination {
  fd?: unknown;
  end(): void;
  once(event: "close" | "error", listener: () => void): unknown;
}

/**
 * Ends the process with `code` once the log lines written so far are out — or once stdout turns out
 * to be a closed pipe, or after a bound for a reader that stopped reading. Calling `process.exit` with
 * lines still queued makes pino flush them synchronously at exit, and that flush retries a closed pipe
 * (EPIPE) forever: a coordinator whose log consumer died would never stop. Ending the destination
 * first writes the queue asynchronously, where a closed pipe is an error pino turns into silence.
 */
export function exitAfterLogs(logger: pino.Logger, code: number): void {
  const exit = (): never => process.exit(code);
  const dest = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    Partial<LogDestination> | undefined;
  // only pino's own file-descriptor destination queues lines (pretty output and test streams write at once)
  if (typeof dest?.fd !== "number" || typeof dest.end !== "function" || typeof dest.once !== "function") {
    exit();
    return;
  }
  setTimeout(exit, LOG_DRAIN_BOUND_MS);
  dest.once("close", exit);
  dest.once("error", exit);
  dest.end();
}
