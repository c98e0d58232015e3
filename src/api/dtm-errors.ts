import { Code, ConnectError } from "@connectrpc/connect";

/**
 * dtm's HTTP error envelope (§2.1): FAILURE → 409 `{"dtm_result":"FAILURE","message":…}`, ONGOING →
 * 425, bad input → 400, a branch registered twice → 409, an unknown gid → 404 (all three carrying
 * FAILURE, so dtm SDKs that look for the word stop retrying; dtm answers 500 to the last two),
 * anything else → 500 `{"message":…}`. Failure texts always contain `FAILURE`: dtm's SDKs detect
 * failure by that substring.
 */
export function dtmErrorResponse(err: unknown): { status: number; body: Record<string, string> } {
  const e = ConnectError.from(err);
  const message = e.rawMessage;
  switch (e.code) {
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
 * dtm's gRPC errors are ConnectErrors already; internal errors keep only their text; a branch
 * registered twice is ABORTED (dtm's FAILURE: the SDKs know no other code for "refused for good").
 */
export function dtmGrpcError(err: unknown): ConnectError {
  const e = ConnectError.from(err);
  if (e.code === Code.Unknown || e.code === Code.Internal)
    return new ConnectError(e.rawMessage, Code.Unknown);
  if (e.code === Code.AlreadyExists) return new ConnectError(e.rawMessage, Code.Aborted);
  return e;
}
