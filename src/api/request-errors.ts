import type { ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

/** The text connect-es gives a request body whose protobuf bytes do not decode. */
const UNDECODABLE = /^parse binary/;

/** The text connect-es gives a request message over `readMaxBytes` (server.maxBodyBytes). */
const TOO_LARGE = /^message size (?:(\d+) )?is larger than configured readMaxBytes (\d+)$/;

/**
 * Says connect-es's answers to a bad request the way the coordinator says bad input, for every
 * router handler (call after every service is registered):
 * - protobuf bytes that do not decode are answered INTERNAL (gRPC status 13, Connect HTTP 500), as
 *   if the server were at fault; the client sent them: INVALID_ARGUMENT (status 3, Connect 400),
 *   keeping the text;
 * - a message over the body limit stays RESOURCE_EXHAUSTED, its text naming the setting
 *   (`server.maxBodyBytes`) instead of connect-es's option.
 */
export function clearRequestErrors(router: ConnectRouter): void {
  const handlers = router.handlers as UniversalHandler[];
  handlers.forEach((handler, i) => {
    handlers[i] = Object.assign(
      async (req: Parameters<UniversalHandler>[0]) => cleared(await handler(req)),
      handler,
    );
  });
}

/** The text of a too-large request naming the limit, or null when `message` is another one. */
export function tooLargeRequest(message: string): string | null {
  const m = TOO_LARGE.exec(message);
  if (!m) return null;
  const size = m[1] ? `${m[1]} bytes, ` : "";
  return `request: is ${size}larger than the limit of ${m[2]} bytes (server.maxBodyBytes)`;
}

async function cleared(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  for (const headers of [res.header, res.trailer]) {
    const status = headers?.get("grpc-status");
    if (status !== "13" && status !== "8") continue;
    const message = decodeURIComponent(headers!.get("grpc-message") ?? "");
    if (status === "13" && UNDECODABLE.test(message)) {
      headers!.set("grpc-status", "3");
      return res;
    }
    const tooLarge = status === "8" ? tooLargeRequest(message) : null;
    if (tooLarge) {
      headers!.set("grpc-message", encodeURIComponent(tooLarge));
      return res;
    }
  }
  const isError = res.status === 500 || res.status === 429;
  if (!isError || !res.body || !res.header?.get("content-type")?.startsWith("application/json")) return res;
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  const error = safeParse(text);
  const message = typeof error?.message === "string" ? error.message : "";
  if (error?.code === "internal" && UNDECODABLE.test(message))
    return jsonAnswer(res, 400, { ...error, code: "invalid_argument" });
  const tooLarge = error?.code === "resource_exhausted" ? tooLargeRequest(message) : null;
  if (tooLarge) return jsonAnswer(res, res.status, { ...error, message: tooLarge });
  return { ...res, body: once(Buffer.from(text)) };
}

function jsonAnswer(
  res: UniversalServerResponse,
  status: number,
  error: Record<string, unknown>,
): UniversalServerResponse {
  const body = Buffer.from(JSON.stringify(error));
  res.header!.set("content-length", String(body.length));
  return { ...res, status, body: once(body) };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

function safeParse(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
