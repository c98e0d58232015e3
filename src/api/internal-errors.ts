import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "pino";
import { INTERNAL_MESSAGE } from "./dtm-errors";

/**
 * Runs around every gRPC/Connect call (and the REST gateway's): an error that is not one of the
 * foreseen ones (a bug: Code.Unknown) is logged with its stack and answered with a fixed text, so no
 * stack, SQL or data reaches a client.
 */
export function hideInternalErrors(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (ConnectError.from(err).code !== Code.Unknown) throw err;
      logger.error({ err, procedure: req.method.name }, "request failed");
      throw new ConnectError(INTERNAL_MESSAGE, Code.Unknown);
    }
  };
}

/** Logs a route's unforeseen error (a bug) before the edge answers it with a fixed text. */
export function logUnforeseen<A extends unknown[], R>(
  logger: Logger | undefined,
  route: string,
  handle: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handle(...args);
    } catch (err) {
      if (ConnectError.from(err).code === Code.Unknown) logger?.error({ err, route }, "request failed");
      throw err;
    }
  };
}
