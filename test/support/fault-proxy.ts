import type { IncomingMessage, ServerResponse } from "node:http";
import { request } from "undici";
import { listenHttp, type Listening } from "./listen";

/** What the proxy does with one request. */
export type Fault =
  | "pass"
  /** answers FAILURE (409) without forwarding: the branch never ran */
  | "failBefore"
  /** answers ONGOING (425) without forwarding */
  | "ongoingBefore"
  /** drops the connection without forwarding */
  | "dropBefore"
  /** forwards, then answers FAILURE: the branch ran but the caller hears it failed */
  | "failAfter"
  /** forwards, then drops the connection: the branch ran but the caller hears nothing */
  | "dropAfter"
  /** forwards the request twice at once, answers the first answer */
  | "duplicate"
  /** forwards and answers, then delivers the request once more a moment later (after what followed it) */
  | "replayLater"
  /** holds the request a moment before forwarding it (requests sent after it overtake it) */
  | "delay";

/** One request as the proxy saw it: path with query, body. */
export interface ProxiedRequest {
  path: string;
  /** The `op` query parameter (the branch's op), "" when none. */
  op: string;
  body: Buffer;
}

/** Chooses a fault for a request. */
export type FaultPicker = (req: ProxiedRequest) => Fault;

/**
 * A fault-injecting HTTP proxy on loopback: every request to `base` + path is forwarded to `target`
 * + path, unless `pick` chooses a fault for it (see {@link Fault}). `calm()` stops injecting;
 * `idle()` waits until no forwarded request (a replay or delay included) is still on its way.
 */
export class FaultProxy {
  private readonly inFlight = new Set<Promise<unknown>>();
  private calmed = false;
  /** How many requests met each fault. */
  readonly counts: Record<Fault, number> = {
    pass: 0,
    failBefore: 0,
    ongoingBefore: 0,
    dropBefore: 0,
    failAfter: 0,
    dropAfter: 0,
    duplicate: 0,
    replayLater: 0,
    delay: 0,
  };

  private constructor(
    private readonly target: string,
    private readonly pick: FaultPicker,
    private readonly delayMs: () => number,
    private server?: Listening,
  ) {}

  /** Listens on 127.0.0.1 port 0; `target` is `http://host:port` (no path). */
  static async start(target: string, pick: FaultPicker, delayMs: () => number): Promise<FaultProxy> {
    const proxy = new FaultProxy(target, pick, delayMs);
    proxy.server = await listenHttp((req, res) => proxy.handle(req, res));
    return proxy;
  }

  /** `http://127.0.0.1:<port>` */
  get base(): string {
    return `http://127.0.0.1:${this.server!.port}`;
  }

  /** Stops injecting faults: every request from now on is forwarded once, its answer returned. */
  calm(): void {
    this.calmed = true;
  }

  /** Resolves once every forwarded request (replays and delayed ones included) got its answer. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.idle();
    await this.server?.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? "/";
    const op = new URL(path, "http://proxy").searchParams.get("op") ?? "";
    const proxied = { path, op, body: Buffer.concat(chunks) };
    const fault = this.calmed ? "pass" : this.pick(proxied);
    this.counts[fault]++;
    try {
      await this.apply(fault, req.method ?? "POST", proxied, res);
    } catch (err) {
      res.destroy(err as Error);
    }
  }

  private async apply(fault: Fault, method: string, r: ProxiedRequest, res: ServerResponse): Promise<void> {
    if (fault === "failBefore") return answer(res, 409, '{"dtm_result":"FAILURE","message":"injected"}');
    if (fault === "ongoingBefore") return answer(res, 425, '{"dtm_result":"ONGOING","message":"injected"}');
    if (fault === "dropBefore") return void res.destroy();
    if (fault === "delay") await sleep(this.delayMs());
    if (fault === "duplicate") void this.forward(method, r).catch(() => undefined);
    const got = await this.forward(method, r);
    if (fault === "replayLater") {
      const later = sleep(this.delayMs()).then(() => this.forward(method, r).catch(() => undefined));
      this.track(later);
    }
    if (fault === "failAfter") return answer(res, 409, '{"dtm_result":"FAILURE","message":"injected after"}');
    if (fault === "dropAfter") return void res.destroy();
    answer(res, got.status, got.body);
  }

  private forward(method: string, r: ProxiedRequest): Promise<{ status: number; body: string }> {
    const sent = request(this.target + r.path, {
      method: method as "POST",
      headers: { "content-type": "application/json" },
      body: method === "GET" ? undefined : r.body,
    }).then(async (res) => ({ status: res.statusCode, body: await res.body.text() }));
    return this.track(sent);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }
}

function answer(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json" }).end(body);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
