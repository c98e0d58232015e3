/**
 * Structured JSON logs through pino.
 *
 * Scope, don't repeat: code that works on one transaction takes `logger.child({ gid })`, and per-branch code
 * narrows that again with `.child({ branchId, op })`, so every line carries its context without each call
 * site spelling it out. Children are cheap (pino serializes their bindings once). Errors go under `err`
 * (`log.error({ err }, "branch call failed")`) so the message, type and stack are serialized consistently.
 * Keep info level free of per-request lines: the hot path logs at debug or trace.
 */
import pino from "pino";

/**
 * Creates the process's root logger.
 *
 * @param level minimum level: trace, debug, info, warn, error, fatal or silent (see `log.level` in config)
 * @param destination where JSON lines go; default stdout. Tests pass a stream to capture lines.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): pino.Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: "dtx" },
    errorKey: "err",
    serializers: { err: pino.stdSerializers.err },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
