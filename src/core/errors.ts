import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The one error model of the core: a ConnectError with a code. Adapters map codes to their
 * wire (dtm HTTP: Aborted → 409 FAILURE, FailedPrecondition(ONGOING) → 425, InvalidArgument → 400).
 */

/** Bad input: names the field, nothing was written. */
export function invalidArgument(field: string, problem: string): ConnectError {
  return new ConnectError(`${field}: ${problem}`, Code.InvalidArgument);
}

/** dtm's FAILURE: the request conflicts with the stored state for good. */
export function failure(message: string): ConnectError {
  return new ConnectError(message, Code.Aborted);
}

/** dtm's ONGOING. */
export function ongoing(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}

/** The code of any thrown value, without relying on instanceof across module copies. */
export function codeOf(err: unknown): Code {
  return ConnectError.from(err).code;
}
