/**
 * Logs through pino: one readable line per event at a terminal (pino-pretty), JSON lines anywhere
 * else, in the shape log pipelines (Filebeat → Elasticsearch, Loki) expect — `timestamp` (ISO-8601,
 * UTC), `level` as a word, `service`, `trace_id` when the line is written inside a trace, `message`,
 * then the fields. `log.format` (`auto`, `json`, `pretty`) overrides the choice.
 *
 * Scope, don't repeat: code that works on one transaction takes `logger.child({ gid })`, and per-branch code
 * narrows that again with `.child({ branchId, op })`, so every line carries its context without each call
 * site spelling it out. Errors go under `err` (`log.error({ err }, "branch call failed")`). Keep info
 * level to what an operator follows (a transaction's status changes); per-call detail is debug or trace.
 *
 * Values of credential headers (`authorization`, `cookie`, `x-…-token`, anything named like a secret,
 * password or API key) never reach the output, wherever they sit in a line: a transaction's `branch_headers` may
 * carry them.
 */
import { isSpanContextValid, trace } from "@opentelemetry/api";
import pino from "pino";
import pretty from "pino-pretty";
import type { LogFormat } from "./config";

/**
 * A JSON key that names a credential (`Authorization`, `Cookie`, `X-Api-Key`, `X-Auth-Token`, `client_secret`,
 * …; not a bare `token`, which audit lines use for a token's name), and its string value.
 */
const CREDENTIAL =
  /("[^"]*(?:authorization|cookie|secret|password|passwd|api[-_]?key|[-_]token)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/** A JSON line with the values of credential keys replaced by `[redacted]`. */
export function redactCredentials(line: string): string {
  return line.replace(CREDENTIAL, '$1"[redacted]"');
}

/**
 * Creates the process's root logger.
 *
 * @param level minimum level: trace, debug, info, warn, error, fatal or silent (see `log.level` in config)
 * @param destination where lines go; default stdout. Tests pass a stream to capture lines.
 * @param format `log.format`; `auto` picks `pretty` only for a terminal stdout.
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: LogFormat = "auto",
): pino.Logger {
  const isPretty =
    format === "pretty" || (format === "auto" && !destination && process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    level,
    base: { service: "dtx" },
    messageKey: "message",
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceId,
    errorKey: "err",
    serializers: { err: pino.stdSerializers.err },
    hooks: { streamWrite: redactCredentials },
  };
  if (isPretty) {
    const out = pretty({
      destination: destination ?? 1,
      messageKey: "message",
      timestampKey: "timestamp",
      ignore: "service",
      singleLine: true,
      colorize: !destination && process.stdout.isTTY === true,
      customLevels: "trace:10,debug:20,info:30,warn:40,error:50,fatal:60",
      useOnlyCustomProps: false,
      sync: true,
    });
    return pino(options, out);
  }
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** The current trace's id, when a line is written inside a recorded span. */
function traceId(): { trace_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? { trace_id: ctx.traceId } : {};
}

/**
 * Writes already formatted JSON lines (another thread's, recovery-thread.ts) where `logger` writes its
 * own — through the same stream, so the lines of both never interleave mid-line, and a pretty
 * logger formats them as its own.
 */
export function writeLines(logger: pino.Logger, lines: string): void {
  destinationOf(logger).write(lines);
}

/** The stream `logger` writes its lines to (pino's stdout destination, a pretty printer, a test's stream). */
export function destinationOf(logger: pino.Logger): pino.DestinationStream {
  return (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym]!;
}
