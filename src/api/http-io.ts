import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { invalidArgument } from "../core/errors";

/** The request and response types every protocol shares (HTTP/1.1 and HTTP/2). */
export type Req = IncomingMessage | Http2ServerRequest;
export type Res = ServerResponse | Http2ServerResponse;

/**
 * Reads a request body, refusing (invalid argument on `body`) as soon as it passes `maxBytes`
 * rather than buffering an unbounded upload.
 */
export async function readBody(req: Req, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > maxBytes) throw invalidArgument("body", `is larger than the limit of ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw invalidArgument("body", `is larger than the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; malformed JSON is invalid argument on `body`. */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw invalidArgument("body", `is not valid JSON (${(err as Error).message})`);
  }
}

/** Writes a JSON answer. */
export function sendJson(res: Res, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
