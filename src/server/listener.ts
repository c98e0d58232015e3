import * as http from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";

/** Options of {@link Listener.listen}. */
export interface ListenerOptions {
  /** Interface to bind, e.g. `0.0.0.0` or `127.0.0.1`. */
  host: string;
  /** TCP port; 0 picks a free one (read it back from {@link Listener.port}). */
  port: number;
  /** Serves every request of both protocols; normally the function returned by `connectNodeAdapter`. */
  handler: (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => void;
  /**
   * How long {@link Listener.close} waits for in-flight requests before it destroys the remaining
   * sockets. Default 5000 ms.
   */
  drainTimeoutMs?: number;
  /**
   * How long a new connection may stay silent before its protocol is known; it is destroyed then.
   * Default 60000 ms, the same as Node's `headersTimeout`.
   */
  sniffTimeoutMs?: number;
  /** Largest HTTP/1 request head (request line and headers) in bytes; larger ones get 431. Default 16384. */
  maxHeaderBytes?: number;
}

/**
 * How much of a request body that was answered before it was read (a refused upload) is still read and
 * dropped, so that a client still sending reads the answer instead of a connection reset; past this the
 * connection is closed.
 */
export const DISCARD_LIMIT_BYTES = 64 * 1024 * 1024;

/** The HTTP/2 client connection preface starts with these bytes; no HTTP/1 request line can. */
const H2_PREFACE = Buffer.from("PRI ");

type AnyResponse = http.ServerResponse | http2.Http2ServerResponse;

/**
 * One TCP port serving HTTP/1.1 and h2c (HTTP/2 with prior knowledge, as gRPC clients speak it).
 *
 * Node cannot serve both on one plain-text listener by itself, so an `http.Server` owns the socket and its
 * `connection` listener is replaced by one that sniffs the first bytes: `PRI ` goes to an `http2.Server`,
 * everything else to the http1 server's own connection listener.
 */
export class Listener {
  /** The bound port (the real one when 0 was asked for). */
  readonly port: number;
  /** The bound host, as given. */
  readonly host: string;

  private closing: Promise<void> | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly sniffing = new Set<Socket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly inFlight = new Set<AnyResponse>();

  private constructor(
    private readonly h1: http.Server,
    private readonly h2: http2.Http2Server,
    private readonly opts: ListenerOptions,
  ) {
    const address = h1.address();
    this.port = typeof address === "object" && address ? address.port : opts.port;
    this.host = opts.host;
  }

  /** Binds `host:port` and starts serving; rejects when the port cannot be bound. */
  static async listen(opts: ListenerOptions): Promise<Listener> {
    const h1 = http.createServer({ maxHeaderSize: opts.maxHeaderBytes ?? 16_384 });
    const h2 = http2.createServer();
    await new Promise<void>((resolve, reject) => {
      h1.once("error", reject);
      h1.listen(opts.port, opts.host, () => {
        h1.off("error", reject);
        resolve();
      });
    });
    const listener = new Listener(h1, h2, opts);
    listener.wire();
    return listener;
  }

  private wire(): void {
    const { h1, h2 } = this;
    // http.Server registers its parser-attaching listener in its constructor; we take it over so that it
    // runs only for connections that turn out to be HTTP/1.
    const h1Accept = h1.listeners("connection") as ((socket: Socket) => void)[];
    h1.removeAllListeners("connection");
    h1.on("connection", (socket: Socket) => this.sniff(socket, h1Accept));
    // Accept errors (EMFILE and the like) are transient; with no listener they would crash the process.
    h1.on("error", () => {});
    h1.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => this.refuseHead(err, socket));
    h1.on("request", (req, res) => this.serve(req, res, false));
    h2.on("request", (req, res) => this.serve(req, res, true));
    h2.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
      // A session accepted while closing must not keep the port busy.
      if (this.closing) session.close();
    });
  }

  private sniff(socket: Socket, h1Accept: ((socket: Socket) => void)[]): void {
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    // Resets are routine; both protocol stacks add their own handlers too, this one only keeps an
    // 'error' with no other listener (e.g. while sniffing) from becoming an uncaught exception.
    socket.on("error", () => {});
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.sniffing.add(socket);
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.opts.sniffTimeoutMs ?? 60_000);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      this.sniffing.delete(socket);
      socket.off("readable", onReadable);
      socket.off("end", onEnd);
    };
    const onEnd = () => {
      done();
      socket.destroy();
    };
    const onReadable = () => {
      // read() in paused mode drains everything buffered; keep it until the protocol is known.
      for (let chunk: Buffer | null; (chunk = socket.read()) !== null;) head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const maybeH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      // Decide as soon as the bytes rule HTTP/2 out, else once all 4 are there.
      if (maybeH2 && head.length < H2_PREFACE.length) return;
      done();
      // Give every byte back, so the chosen protocol stack reads the stream from its first byte.
      socket.unshift(head);
      if (maybeH2) this.h2.emit("connection", socket);
      else for (const accept of h1Accept) accept.call(this.h1, socket);
    };
    socket.on("readable", onReadable);
    socket.on("end", onEnd);
  }

  private serve(req: http.IncomingMessage | http2.Http2ServerRequest, res: AnyResponse, isH2: boolean): void {
    this.inFlight.add(res);
    if (this.closing && !isH2) (res as http.ServerResponse).shouldKeepAlive = false;
    // answered before its body was read (a refused upload): drop the rest, up to a bound
    if (!isH2) res.once("finish", () => discardRest(req as http.IncomingMessage));
    res.once("close", () => {
      this.inFlight.delete(res);
      // The connection turns idle only after 'close'; while draining, let it go as soon as it does.
      if (this.closing && !isH2) setImmediate(() => this.h1.closeIdleConnections());
    });
    this.opts.handler(req, res);
  }

  /**
   * A request Node could not parse: answered with a JSON body naming what is wrong — 431 naming the
   * limit for a head over `maxHeaderBytes`, 400 otherwise — then the connection is closed.
   */
  private refuseHead(err: NodeJS.ErrnoException, socket: Socket): void {
    // a reset, or an answer already under way on this connection: nothing more can be said on it
    const answering = (socket as Socket & { _httpMessage?: unknown })._httpMessage;
    if (!socket.writable || answering || (err.code !== undefined && /^E[A-Z]+$/.test(err.code))) {
      socket.destroy();
      return;
    }
    const [status, message] =
      err.code === "HPE_HEADER_OVERFLOW"
        ? [
            "431 Request Header Fields Too Large",
            `headers: are larger than the limit of ${this.opts.maxHeaderBytes ?? 16_384} bytes`,
          ]
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? ["408 Request Timeout", "request: was not received in time"]
          : ["400 Bad Request", `request: is not valid HTTP/1.1 (${err.code ?? "parse error"})`];
    const body = JSON.stringify({ message });
    socket.end(
      `HTTP/1.1 ${status}\r\ncontent-type: application/json; charset=utf-8\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }

  /**
   * Stops accepting, lets in-flight requests finish (HTTP/1 connections are closed once idle, HTTP/2
   * sessions get GOAWAY), and after `drainTimeoutMs` destroys whatever is still open. Resolves once every
   * socket is closed. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      // net.Server counts every accepted socket, HTTP/2 ones included, so this fires when all are gone.
      this.h1.close(() => {
        clearTimeout(hardStop);
        resolve();
      });
      const hardStop = setTimeout(() => {
        for (const session of this.sessions) session.destroy();
        for (const socket of this.sockets) socket.destroy();
      }, this.opts.drainTimeoutMs ?? 5000);
      hardStop.unref();
      for (const socket of this.sniffing) socket.destroy();
      for (const res of this.inFlight) {
        // Tell HTTP/1 clients not to reuse the connection when the answer has not started yet.
        if (!res.headersSent && res instanceof http.ServerResponse) res.shouldKeepAlive = false;
      }
      this.h1.closeIdleConnections();
      for (const session of this.sessions) session.close();
    });
    return this.closing;
  }
}

/** Reads and drops what is left of an answered request's body; past DISCARD_LIMIT_BYTES closes the connection. */
function discardRest(req: http.IncomingMessage): void {
  if (req.complete) return;
  let dropped = 0;
  req.on("data", (chunk: Buffer) => {
    if ((dropped += chunk.length) > DISCARD_LIMIT_BYTES) req.socket.destroy();
  });
  req.resume();
}
