import * as http2 from "node:http2";
import * as net from "node:net";
import { Duplex } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import {
  connectNodeAdapter,
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { request } from "undici";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TransactionSchema } from "../../gen/dtx/v1/types_pb";
import { Listener } from "../../src/server/listener";

const impl: Partial<ServiceImpl<typeof CoordinatorService>> = {
  getTransaction: (req, ctx) => ({
    transaction: create(TransactionSchema, { gid: req.gid, rollbackReason: ctx.protocolName }),
  }),
};

/** Plain HTTP routes behind the RPC routes: /hello answers, /slow answers late, /hang never does. */
const fallback: ConnectNodeAdapterOptions["fallback"] = (req, res) => {
  if (req.url === "/hello") {
    res.writeHead(200);
    res.end("hi");
  } else if (req.url === "/slow") {
    setTimeout(() => {
      res.writeHead(200);
      res.end("late");
    }, 300);
  } else if (req.url !== "/hang") {
    res.writeHead(404);
    res.end();
  }
};

const handler = connectNodeAdapter({ routes: (r) => r.service(CoordinatorService, impl), fallback });

/** Connects, writes `chunks` with a pause between them, and resolves with everything read until EOF. */
function rawExchange(port: number, chunks: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let out = "";
    socket.on("data", (d) => (out += d.toString()));
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
    chunks.forEach((c, i) => setTimeout(() => socket.write(c), i * 30));
  });
}

/** A duplex over a TCP socket that splits its first write, so the h2 preface arrives in pieces. */
function slowStartSocket(port: number): Duplex {
  const tcp = net.connect(port, "127.0.0.1");
  let first = true;
  const duplex = new Duplex({
    read() {
      tcp.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (!first) return tcp.write(chunk, cb);
      first = false;
      tcp.write(chunk.subarray(0, 2));
      setTimeout(() => tcp.write(chunk.subarray(2), cb), 50);
    },
    final(cb) {
      tcp.end(cb);
    },
    destroy(err, cb) {
      tcp.destroy();
      cb(err);
    },
  });
  tcp.on("data", (d) => duplex.push(d) || tcp.pause());
  tcp.on("end", () => duplex.push(null));
  tcp.on("error", (e) => duplex.destroy(e));
  return duplex;
}

function h2Get(session: http2.ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":path": path });
    let status = 0;
    let body = "";
    stream.on("response", (h) => (status = Number(h[":status"])));
    stream.on("data", (d) => (body += d.toString()));
    stream.on("end", () => resolve({ status, body }));
    stream.on("error", reject);
    stream.end();
  });
}

describe("Listener", () => {
  let listener: Listener;
  let baseUrl: string;

  beforeAll(async () => {
    listener = await Listener.listen({ host: "127.0.0.1", port: 0, handler });
    baseUrl = `http://127.0.0.1:${listener.port}`;
  });
  afterAll(() => listener.close());

  it("binds a real port when asked for port 0", () => {
    expect(listener.port).toBeGreaterThan(0);
    expect(listener.host).toBe("127.0.0.1");
  });

  it("serves gRPC (h2c), Connect over HTTP/1.1 and gRPC-Web on the same port", async () => {
    const grpc = createClient(CoordinatorService, createGrpcTransport({ baseUrl }));
    const connect = createClient(CoordinatorService, createConnectTransport({ baseUrl, httpVersion: "1.1" }));
    const web = createClient(CoordinatorService, createGrpcWebTransport({ baseUrl, httpVersion: "1.1" }));
    const [a, b, c] = await Promise.all([
      grpc.getTransaction({ gid: "g-grpc" }),
      connect.getTransaction({ gid: "g-connect" }),
      web.getTransaction({ gid: "g-web" }),
    ]);
    expect(a.transaction).toMatchObject({ gid: "g-grpc", rollbackReason: "grpc" });
    expect(b.transaction).toMatchObject({ gid: "g-connect", rollbackReason: "connect" });
    expect(c.transaction).toMatchObject({ gid: "g-web", rollbackReason: "grpc-web" });
  });

  it("serves plain HTTP/1.1 and plain h2c through the fallback", async () => {
    const res = await request(`${baseUrl}/hello`);
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe("hi");
    const session = http2.connect(baseUrl);
    try {
      expect(await h2Get(session, "/hello")).toEqual({ status: 200, body: "hi" });
    } finally {
      session.close();
    }
  });

  it("loses no byte when the first bytes arrive one segment at a time", async () => {
    // "P" could still be the h2 preface, so the listener has to wait for more before choosing HTTP/1.
    const h1 = await rawExchange(listener.port, [
      "P",
      "OST /hello HTTP/1.1\r\nHost: x\r\n",
      "Connection: close\r\n\r\n",
    ]);
    expect(h1).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\n2\r\nhi\r\n0\r\n\r\n$/);
    const session = http2.connect(baseUrl, { createConnection: () => slowStartSocket(listener.port) });
    try {
      expect(await h2Get(session, "/hello")).toEqual({ status: 200, body: "hi" });
    } finally {
      session.close();
    }
  });

  it("survives garbage and connection resets", async () => {
    const reply = await rawExchange(listener.port, ["\x00\x01\x02\x03 not http\r\n\r\n"]);
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    await new Promise<void>((resolve) => {
      const s = net.connect(listener.port, "127.0.0.1", () => {
        s.write("PRI * HTTP/2.0\r\n");
        setTimeout(() => {
          s.resetAndDestroy();
          resolve();
        }, 20);
      });
    });
    expect((await request(`${baseUrl}/hello`)).statusCode).toBe(200);
  });
});

describe("Listener.close", () => {
  it("lets in-flight requests finish, then refuses connections", async () => {
    const listener = await Listener.listen({ host: "127.0.0.1", port: 0, handler });
    const baseUrl = `http://127.0.0.1:${listener.port}`;
    const grpc = createClient(CoordinatorService, createGrpcTransport({ baseUrl }));
    await grpc.getTransaction({ gid: "warm" }); // leaves an idle h2 session open
    const session = http2.connect(baseUrl);
    const slowH2 = h2Get(session, "/slow");
    const slowH1 = request(`${baseUrl}/slow`).then(async (r) => [r.statusCode, await r.body.text()]);
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await listener.close();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await slowH1).toEqual([200, "late"]);
    expect(await slowH2).toEqual({ status: 200, body: "late" });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => {
      net.connect(listener.port, "127.0.0.1").on("error", resolve);
    });
    expect(err.code).toBe("ECONNREFUSED");
    session.destroy();
  });

  it("destroys what is still open after drainTimeoutMs", async () => {
    const listener = await Listener.listen({ host: "127.0.0.1", port: 0, handler, drainTimeoutMs: 200 });
    const hung = request(`http://127.0.0.1:${listener.port}/hang`).then(
      () => "answered",
      () => "reset",
    );
    const silent = net.connect(listener.port, "127.0.0.1"); // never sends a byte
    silent.on("error", () => {});
    await new Promise((r) => setTimeout(r, 50));
    const started = Date.now();
    await listener.close();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await hung).toBe("reset");
    silent.destroy();
  });
});
