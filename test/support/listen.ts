import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createH2c, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { AddressInfo } from "node:net";

/** A server listening on 127.0.0.1, port 0. */
export interface Listening {
  port: number;
  /** Closes the server and its connections. */
  close(): Promise<void>;
}

/** An HTTP/1.1 server on a free loopback port. */
export async function listenHttp(
  handler: (req: IncomingMessage, res: ServerResponse) => unknown,
): Promise<Listening> {
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A plaintext HTTP/2 (h2c) server, as gRPC clients reach it, on a free loopback port. */
export async function listenH2c(
  handler: (req: Http2ServerRequest, res: Http2ServerResponse) => unknown,
): Promise<Listening> {
  const server = createH2c((req, res) => void handler(req, res));
  const sessions = new Set<import("node:http2").ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sessions) s.close();
      await new Promise((r) => server.close(r));
    },
  };
}
