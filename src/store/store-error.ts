import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";

/** What a client is told while the database cannot be reached; it names no database detail. */
export const STORE_UNAVAILABLE = "store unavailable: the database cannot be reached, retry later";

/** What a client is told when a statement failed for another reason; the detail is in the log. */
export const STORE_FAILED = "internal error: a store statement failed (the coordinator's log has the detail)";

/**
 * A failed statement as the edges may show it: UNAVAILABLE while the database cannot be reached
 * (connection refused or lost, the server shutting down or starting), INTERNAL otherwise. The
 * database's own text never reaches a client (it may quote data or the schema); it is logged here,
 * with the statement's name, and kept as the error's cause.
 */
export function storeError(err: unknown, statement: string, logger?: Logger): ConnectError {
  if (isUnreachable(err)) {
    logger?.warn({ err, statement }, "database unreachable");
    return new ConnectError(STORE_UNAVAILABLE, Code.Unavailable, undefined, undefined, err);
  }
  logger?.error({ err, statement }, "statement failed");
  return new ConnectError(STORE_FAILED, Code.Internal, undefined, undefined, err);
}

/**
 * Whether an error means the database is out of reach rather than the statement wrong: socket errors
 * (ECONNREFUSED, ECONNRESET, …), SQLSTATE class 08 (connection), 57P01–57P03 (shutting down, crash,
 * starting up), and the pool's own "Connection terminated" / connect timeout.
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof AggregateError) return true;
  const code = String((err as { code?: unknown })?.code ?? "");
  if (/^E[A-Z]+$/.test(code) || code.startsWith("08") || /^57P0[123]$/.test(code)) return true;
  const message = String((err as { message?: unknown })?.message ?? "");
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}
