import { Code, ConnectError } from "@connectrpc/connect";

/**
 * dtm's HTTP error envelope (§2.1): FAILURE → 409 `{"dtm_result":"FAILURE","message":…}`, ONGOING →
 * 425, bad input → 400 (also carrying FAILURE, so dtm SDKs that look for the word stop retrying),
 * anything else → 500 `{"message":…}`. Failure texts always contain `FAILURE`: dtm's SDKs detect
 * failure by that substring.
 */
export function dtmErrorResponse(err: unknown): { status: number; body: Record<string, string> } {
  const e = ConnectError.from(err);
  const message = e.rawMessage;
  switch (e.code) {
    case Code.InvalidArgument:
      return { status: 400, body: { dtm_result: "FAILURE", message: withSentinel(message, "FAILURE") } };
    case Code.Aborted:
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

/** dtm's gRPC errors are ConnectErrors already; internal errors keep only their text. */
export function dtmGrpcError(err: unknown): ConnectError {
  const e = ConnectError.from(err);
  return e.code === Code.Unknown || e.code === Code.Internal
    ? new ConnectError(e.rawMessage, Code.Unknown)
    : e;
}
