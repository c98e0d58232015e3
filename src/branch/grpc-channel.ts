import { lookup } from "node:dns/promises";
import * as http2 from "node:http2";
import { connect as tcpConnect, isIP } from "node:net";

/** How long an address that refused a connection is passed over while another one works. */
const DOWN_MS = 1_000;

/**
 * The HTTP/2 connections to one gRPC target (`host:port`): the host is resolved once, one session per
 * address is opened on first use, and calls take the connected sessions in turn (round robin), passing
 * over an address that failed within the last second while another works. A session that fails, is
 * closed or receives GOAWAY is dropped and reopened by the next call that needs it. When no address
 * connects, or an established connection fails, the channel is `stale`, and its owner replaces it (the
 * host is resolved again); an address that refuses while another connects (a name with an IPv6 and an
 * IPv4 address, a server on one of them) leaves the channel as it is.
 */
export class GrpcChannel {
  /** No address connected, or a connection failed: the addresses may have changed. */
  stale = false;
  private closed = false;
  private readonly sessions: Array<http2.ClientHttp2Session | null>;
  /** Per address, while its session connects: settles when it has connected or failed. */
  private readonly connecting: Array<Promise<http2.ClientHttp2Session> | null>;
  private readonly downUntil: number[];
  private next = 0;

  private constructor(
    private readonly authority: string,
    private readonly port: number,
    private readonly addresses: string[],
  ) {
    this.sessions = addresses.map(() => null);
    this.connecting = addresses.map(() => null);
    this.downUntil = addresses.map(() => 0);
  }

  /** Resolves `target` (`host:port`, `[v6]:port`, `host` for port 443); rejects when it is no such target or the host has no address. */
  static async open(target: string): Promise<GrpcChannel> {
    // without a port, gRPC's default: 443
    const colon = target.endsWith("]") ? -1 : target.lastIndexOf(":");
    const port = colon < 0 ? 443 : Number(target.slice(colon + 1));
    if (colon === 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`${JSON.stringify(target)} is not host:port`);
    }
    const host = (colon < 0 ? target : target.slice(0, colon)).replace(/^\[(.*)\]$/, "$1");
    const addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
    if (addresses.length === 0) throw new Error(`no address for ${host}`);
    return new GrpcChannel(target, port, addresses);
  }

  /** A connected session, the next in turn; rejects with the last connection error when none connects. */
  session(): http2.ClientHttp2Session | Promise<http2.ClientHttp2Session> {
    const now = Date.now();
    for (let tries = 0; tries < this.addresses.length; tries++) {
      const i = this.next++ % this.addresses.length;
      const s = this.sessions[i];
      if (s && !s.connecting && !s.closed && !s.destroyed) return s;
      if (this.downUntil[i]! > now && tries < this.addresses.length - 1) continue;
      return this.connectFrom(i);
    }
    return this.connectFrom(this.next++ % this.addresses.length);
  }

  /** Connects address `i` (or waits for its connection), then the following ones while they fail. */
  private async connectFrom(first: number): Promise<http2.ClientHttp2Session> {
    let last: unknown;
    for (let k = 0; k < this.addresses.length; k++) {
      const i = (first + k) % this.addresses.length;
      try {
        return await this.connected(i);
      } catch (err) {
        last = err;
        this.downUntil[i] = Date.now() + DOWN_MS;
      }
    }
    this.stale = true;
    throw last;
  }

  private connected(i: number): Promise<http2.ClientHttp2Session> {
    let s = this.sessions[i];
    if (!s || s.closed || s.destroyed) s = this.openSession(i);
    return s.connecting ? this.connecting[i]! : Promise.resolve(s);
  }

  private openSession(i: number): http2.ClientHttp2Session {
    if (this.closed) throw new Error("the channel was replaced");
    const address = this.addresses[i]!;
    const s = http2.connect(`http://${this.authority}`, {
      createConnection: () => tcpConnect({ host: address, port: this.port }),
    });
    const drop = () => {
      if (this.sessions[i] === s) this.sessions[i] = null;
    };
    s.on("error", () => {
      if (!s.connecting) this.stale = true; // a connection that worked failed
      drop();
    });
    s.on("goaway", drop);
    s.on("close", drop);
    const ready = new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });
    ready.catch(() => {}); // its callers handle the failure; with none waiting it is no rejection
    // an idle connection must not keep the process alive; a call in flight holds its own timer
    s.unref();
    this.sessions[i] = s;
    this.connecting[i] = ready;
    return s;
  }

  /** Closes every session; calls in flight on them finish first. */
  close(): void {
    this.closed = true;
    for (const s of this.sessions) s?.close();
    this.sessions.fill(null);
  }
}
