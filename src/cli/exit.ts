import { Code, ConnectError } from "@connectrpc/connect";

/** The `dtx` command's exit codes (documented in the README and `dtx --help`). */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3 } as const;

/** A failure of a command: its message (one line) and its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** What to print on stdout all the same (a report that ends in a failure). */
    readonly stdout = "",
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** An admin call's error as the command reports it: not found → 3, bad input → 2, the rest → 1. */
export function callError(err: unknown, server: string): CliError {
  const e = ConnectError.from(err);
  switch (e.code) {
    case Code.NotFound:
      return new CliError(e.rawMessage, EXIT.notFound);
    case Code.InvalidArgument:
      return new CliError(e.rawMessage, EXIT.usage);
    case Code.Unauthenticated:
      return new CliError(
        `${server} refused the token (--token or DTX_ADMIN_TOKEN): ${e.rawMessage}`,
        EXIT.failed,
      );
    case Code.Unavailable:
    case Code.Unknown:
    case Code.Internal:
      return new CliError(`cannot reach dtx at ${server}: ${e.rawMessage}`, EXIT.failed);
    default:
      return new CliError(e.rawMessage, EXIT.failed);
  }
}
