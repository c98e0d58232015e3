import type { ConnectRouter } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";

/** The text connect-es gives a request body whose protobuf bytes do not decode. */
const UNDECODABLE = /^parse binary/;

/**
 * connect-es answers a request whose protobuf bytes do not decode with INTERNAL (gRPC status 13,
 * HTTP 500 for the Connect protocol), as if the server were at fault. The client sent them: this
 * turns every router handler's such answer into INVALID_ARGUMENT (gRPC status 3, Connect HTTP 400),
 * keeping the text. Call after every service is registered.
 */
export function undecodableAsInvalid(router: ConnectRouter): void {
  const handlers = router.handlers as UniversalHandler[];
  handlers.forEach((handler, i) => {
    handlers[i] = Object.assign(
      async (req: Parameters<UniversalHandler>[0]) => asInvalid(await handler(req)),
      handler,
    );
  });
}

async function asInvalid(res: UniversalServerResponse): Promise<UniversalServerResponse> {
  for (const headers of [res.header, res.trailer]) {
    if (
      headers?.get("grpc-status") === "13" &&
      UNDECODABLE.test(decodeURIComponent(headers.get("grpc-message") ?? ""))
    ) {
      headers.set("grpc-status", "3");
      return res;
    }
  }
  if (res.status !== 500 || !res.body || !res.header?.get("content-type")?.startsWith("application/json"))
    return res;
  const chunks: Uint8Array[] = [];
  for await (const chunk of res.body) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString("utf8");
  const error = safeParse(text);
  if (error?.code === "internal" && typeof error.message === "string" && UNDECODABLE.test(error.message)) {
    const body = Buffer.from(JSON.stringify({ ...error, code: "invalid_argument" }));
    res.header.set("content-length", String(body.length));
    return { ...res, status: 400, body: once(body) };
  }
  return { ...res, body: once(Buffer.from(text)) };
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
