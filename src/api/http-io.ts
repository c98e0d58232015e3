import type { IncomingMessage, ServerResponse } from "node:http";
import * as http2 from "node:http2";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { invalidField } from "../core/errors";
import { checkJsonInput } from "../core/json-input";

/** The request and response types every protocol shares (HTTP/1.1 and HTTP/2). */
export type Req = IncomingMessage | Http2ServerRequest;
export type Res = ServerResponse | Http2ServerResponse;

/** What `readBody` returns for a body over the limit. */
export const TOO_LARGE = Symbol("too large");

/**
 * Reads a request body up to `max` bytes. Refuses early on a declared length, and stops reading
 * (without destroying the request, which would take the socket and the answer along) as soon as a
 * streamed body passes the limit; answer with `refuseUpload` then.
 */
export async function readBody(req: Req, max: number): Promise<Buffer | typeof TOO_LARGE> {
  const declared = Number(req.headers["content-length"] ?? NaN);
  if (declared > max) return TOO_LARGE;
  // a declared length is what the parser delivers, no more: collect it without a stream iterator
  if (declared >= 0) return readDeclared(req);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    if ((size += chunk.length) > max) return TOO_LARGE;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The whole body of a request with a declared length (at most the limit). */
function readDeclared(req: Req): Promise<Buffer> {
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  if (req.destroyed) return Promise.reject(new Error("the request closed before its body ended"));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer): void => void chunks.push(chunk);
    const onEnd = (): void => {
      off();
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      off();
      reject(err);
    };
    const onClose = (): void => onError(new Error("the request closed before its body ended"));
    const off = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/**
 * Answers a too-large upload (413). On HTTP/1 the listener then reads and drops the rest of the body
 * up to a bound (listener.ts), so a client still sending reads the answer rather than a reset; HTTP/2
 * resets just this stream once the answer is flushed (NO_ERROR, as RFC 9113 §8.1 allows), or it would
 * stay half-open and hold up a graceful shutdown.
 */
export function refuseUpload(req: Req, res: Res, status: number, body: unknown): void {
  sendJson(res, status, body);
  if ("stream" in req) {
    req.stream.close(http2.constants.NGHTTP2_NO_ERROR);
    req.resume(); // the stream is destroyed only once its buffered upload is consumed
  }
}

/** The message of a too-large body, naming the limit. */
export function tooLargeMessage(max: number): string {
  return `body: is larger than the limit of ${max} bytes`;
}

/** Decodes a JSON body's bytes; bytes that are not UTF-8 are refused, never replaced (see `utf8Text`). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * A body's bytes as text, or null when they are not UTF-8: decoded leniently, such bytes would become
 * U+FFFD and, in a gid, name a transaction the client never sent.
 */
export function utf8Text(body: Uint8Array): string | null {
  try {
    return strictUtf8.decode(body);
  } catch {
    return null;
  }
}

/**
 * Parses a JSON body; bytes that are not UTF-8 or malformed JSON are invalid argument on `body`, too
 * deep a nesting or a NUL in a string on the field (see `checkJsonInput`).
 */
export function parseJson(body: Buffer): unknown {
  const text = utf8Text(body);
  if (text === null) throw invalidField(["body"], "is not valid UTF-8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalidField(["body"], `is not valid JSON (${(err as Error).message})`);
  }
  checkJsonInput(value);
  return value;
}

/** Writes a JSON answer (with extra headers, such as `retry-after`). */
export function sendJson(
  res: Res,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
