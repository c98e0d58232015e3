import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The one error model of the core: a ConnectError with a code. Adapters map codes to their
 * wire (dtm HTTP: Aborted → 409 FAILURE, FailedPrecondition(ONGOING) → 425, InvalidArgument → 400).
 */

/**
 * Where a bad value sits in the core's typed input: field names as the proto spells them, indexes
 * as numbers, map keys as strings — `["steps", 0, "action"]`, `["options", "timeout_to_fail"]`.
 */
export type FieldPath = ReadonlyArray<string | number>;

/**
 * Bad input: the field, as a structured path, and what is wrong with it; nothing was written. Each
 * adapter renders the path in its own request's spelling (see `fieldErrorOf`); the message carries
 * the core's spelling (`steps[0].action: …`) for everything else that shows it.
 */
export class InvalidField extends ConnectError {
  constructor(
    readonly path: FieldPath,
    readonly problem: string,
  ) {
    // keeps ConnectError's name: connect recognises its errors by name across module copies
    super(`${formatPath(path)}: ${problem}`, Code.InvalidArgument);
  }
}

/** Bad input at `path` (an InvalidField). */
export function invalidField(path: FieldPath, problem: string): InvalidField {
  return new InvalidField(path, problem);
}

/**
 * The path and problem of an InvalidField, recognised by its shape rather than `instanceof`, which
 * fails across module copies; null for any other error.
 */
export function fieldErrorOf(err: unknown): { path: FieldPath; problem: string } | null {
  if (typeof err !== "object" || err === null) return null;
  const { path, problem } = err as { path?: unknown; problem?: unknown };
  if (!Array.isArray(path) || typeof problem !== "string") return null;
  return ConnectError.from(err).code === Code.InvalidArgument ? { path, problem } : null;
}

/** A path in the core's spelling: names joined by dots, indexes in brackets (`steps[0].action`). */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const part of path) {
    out += typeof part === "number" ? `[${part}]` : out === "" ? part : `.${part}`;
  }
  return out;
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
