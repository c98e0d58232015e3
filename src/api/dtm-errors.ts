import { Code, ConnectError } from "@connectrpc/connect";

/** What a client sees of an error that is not one of the foreseen ones (a bug); the log has the rest. */
export const INTERNAL_MESSAGE = "internal error (the coordinator's log has the detail)";

/** Seconds an overloaded or unavailable coordinator asks a client to wait (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 1;

/**
 * dtm's HTTP error envelope (§2.1): FAILURE → 409 `{"dtm_result":"FAILURE","message":…}`, ONGOING →
 * 425, bad input → 400, a branch registered twice → 409, an unknown gid → 404 (all three carrying
 * FAILURE, so dtm SDKs that look for the word stop retrying; dtm answers 500 to the last two),
 * overloaded (RESOURCE_EXHAUSTED) or the store out of reach (UNAVAILABLE) → 503 with `Retry-After`,
 * anything else → 500 `{"message":…}` with no internal text. Failure texts always contain `FAILURE`:
 * dtm's SDKs detect failure by that substring.
 */
export function dtmErrorResponse(err: unknown): {
  status: number;
  body: Record<string, string>;
  headers?: Record<string, string>;
} {
  const e = ConnectError.from(err);
  const message = e.rawMessage;
  switch (e.code) {
    case Code.ResourceExhausted:
    case Code.Unavailable:
      return { status: 503, body: { message }, headers: { "retry-after": String(RETRY_AFTER_SECONDS) } };
    case Code.Unknown:
      return { status: 500, body: { message: INTERNAL_MESSAGE } };
    case Code.InvalidArgument:
      return { status: 400, body: { dtm_result: "FAILURE", message: withSentinel(message, "FAILURE") } };
    case Code.NotFound:
      return { status: 404, body: { dtm_result: "FAILURE", message: withSentinel(message, "FAILURE") } };
    case Code.Aborted:
    case Code.AlreadyExists:
      return { status: 409, body: { dtm_result: "FAILURE", message: withSentinel(message, "FAILURE") } };
    case Code.FailedPrecondition:
      return { status: 425, body: { dtm_result: "ONGOING", message: withSentinel(message, "ONGOING") } };
    default:
      return { status: 500, body: { message } };
  }
}

/** Appends dtm's sentinel word unless the text has it already. */
export function withSentinel(message: string, word: string): string {
  return message.includes(word) ? message : `${message}. ${word}`;
}

/**
 * dtm's gRPC errors are ConnectErrors already; internal errors keep only their text (a bug's text is
 * replaced, see `hideInternalErrors`); a branch registered twice is ABORTED (dtm's FAILURE: the SDKs
 * know no other code for "refused for good").
 */
export function dtmGrpcError(err: unknown): ConnectError {
  const e = ConnectError.from(err);
  if (e.code === Code.Unknown)
    return new ConnectError(INTERNAL_MESSAGE, Code.Unknown, undefined, undefined, err);
  if (e.code === Code.Internal) return new ConnectError(e.rawMessage, Code.Unknown);
  if (e.code === Code.AlreadyExists) return new ConnectError(e.rawMessage, Code.Aborted);
  return e;
}
