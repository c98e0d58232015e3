import { Client, credentials, Metadata, status, type ServiceError } from "@grpc/grpc-js";

/** The answer of one unary gRPC call: the reply bytes, or the error's code name and message. */
export type GrpcAnswer = { ok: true; reply: Uint8Array } | { ok: false; code: string; message: string };

/**
 * One gRPC channel per target (plaintext, as dtm's branches and coordinator listen), kept open until
 * `close()`. Calls send and receive raw bytes: the caller encodes the messages.
 */
export class GrpcChannels {
  private readonly clients = new Map<string, Client>();
  private closed = false;

  /** Calls `method` (`/pkg.Service/Method`) at `target` (`host:port`); never throws. */
  call(
    target: string,
    method: string,
    message: Uint8Array,
    metadata: Record<string, string>,
    timeoutMs: number,
  ): Promise<GrpcAnswer> {
    if (this.closed)
      return Promise.resolve({ ok: false, code: "UNAVAILABLE", message: "the SDK client is closed" });
    const md = new Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k.toLowerCase(), v);
    const client = this.client(target);
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        method,
        (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
        (b: Buffer) => new Uint8Array(b),
        message,
        md,
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, reply?: Uint8Array) => {
          if (err)
            resolve({
              ok: false,
              code: status[err.code] ?? String(err.code),
              message: decoded(err.details ?? err.message),
            });
          else resolve({ ok: true, reply: reply ?? new Uint8Array(0) });
        },
      );
    });
  }

  /** Closes every channel. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private client(target: string): Client {
    let c = this.clients.get(target);
    if (!c) {
      c = new Client(target, credentials.createInsecure());
      this.clients.set(target, c);
    }
    return c;
  }
}

/**
 * grpc-js decodes grpc-message with decodeURI, which leaves reserved characters (`:`, `/`, …)
 * percent-encoded; the message is decoded fully here (left as it is when it is not an encoding).
 */
function decoded(message: string): string {
  try {
    return decodeURIComponent(message);
  } catch {
    return message;
  }
}

/**
 * Splits a gRPC branch URL `host:port/pkg.Service/Method` at its first `/` (dtm's rule).
 *
 * @example
 * splitGrpcUrl("localhost:8082/bank.v1.BankService/TransOut"); // { target: "localhost:8082", method: "/bank.v1.BankService/TransOut" }
 */
export function splitGrpcUrl(url: string): { target: string; method: string } {
  const slash = url.indexOf("/");
  if (url.includes("://") || slash <= 0 || slash === url.length - 1) {
    throw new TypeError(
      `${JSON.stringify(url)} is neither an http(s) URL nor host:port/package.Service/Method`,
    );
  }
  return { target: url.slice(0, slash), method: url.slice(slash) };
}
