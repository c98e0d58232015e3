import type { Logger } from "pino";
import { sendJson, type Req, type Res } from "../api/http-io";

/**
 * Answers a request the Connect adapter threw on before it could run a handler. The one known case is an
 * authority (`Host`, `:authority`) that does not parse as host[:port], such as `::1:80`, or none at all (HTTP/1.0): the adapter
 * builds the request's URL from it and throws outside any handler, which would end the process. That
 * is the client's mistake (HTTP 400, gRPC INVALID_ARGUMENT, naming the header); anything else is ours
 * (500, INTERNAL), logged.
 */
export function answerUnreadableRequest(req: Req, res: Res, err: unknown, logger: Logger): void {
  const authority = String(req.headers[":authority"] ?? req.headers.host ?? "");
  const badAuthority = !URL.canParse(`http://${authority}`);
  const name = req.headers[":authority"] !== undefined ? ":authority" : "Host";
  const message = !badAuthority
    ? "internal error"
    : authority === ""
      ? `the ${name} header is missing`
      : `the ${name} header ${JSON.stringify(authority)} is not a valid host[:port]`;
  if (!badAuthority) logger.error({ err, url: req.url }, "request failed before its handler ran");
  if (res.headersSent || res.destroyed) return;
  if (String(req.headers["content-type"] ?? "").startsWith("application/grpc")) {
    // a Trailers-Only answer: the status travels in the headers
    res.writeHead(200, {
      "content-type": "application/grpc",
      "grpc-status": badAuthority ? "3" : "13",
      "grpc-message": encodeURIComponent(message),
    });
    res.end();
    return;
  }
  sendJson(res, badAuthority ? 400 : 500, { message });
}
