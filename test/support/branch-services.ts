/**
 * Test-side branch services (the "RM" side) for end-to-end tests of the coordinator.
 *
 * Starts a real HTTP server (node:http) and a real gRPC server (@grpc/grpc-js), both on 127.0.0.1 port 0, that
 * answer branch calls with scripted results (modelled on dtm's test service "busi", spec §4 and §10.1) and keep a
 * log of every call received.
 *
 * Routing: the route name is the last path segment of the HTTP pathname (any prefix, any method) or the method
 * name of the gRPC full method (`/pkg.Service/<name>`). Both transports share the script/default of a name.
 *
 * gRPC method coverage: grpc-js has no public wildcard registration. We register a fixed list of
 * `/busi.Busi/<name>` methods (GRPC_FIXED_METHODS) through the public `Server.register`, and in addition install
 * a fallback on the server's internal handler map so that ANY `/<service>/<method>` path is answered (e.g.
 * `/busi.Busi/TransOutHeaderYes`, `/workflow.Workflow/Execute`). If a future grpc-js changes that internal the
 * fallback is silently skipped and only the fixed list is served (`grpcWildcard` tells which mode is active).
 */
import * as http from "node:http";
import * as grpc from "@grpc/grpc-js";

export type Answer = "OK" | "FAIL" | "ONG" | "ERR" | "HANG" | RawAnswer;

/**
 * Exact HTTP status + body (for legacy body rules like 200 `{"dtm_result":"FAILURE"}`).
 * Over gRPC: `grpc` if given (code 0 = OK with an empty reply); otherwise the HTTP answer is mapped with dtm's
 * HTTP result rules (§4.5): 425 or body containing ONGOING ⇒ FAILED_PRECONDITION, 409 or body containing FAILURE
 * ⇒ ABORTED, other non-200 ⇒ INTERNAL, 200 ⇒ OK. The gRPC message is the body.
 */
export interface RawAnswer {
  status: number;
  body: string;
  grpc?: { code: number; details?: string };
}

export interface BranchCall {
  transport: "http" | "grpc";
  /** HTTP: pathname without query (e.g. "/api/busi/TransOut"); gRPC: full method ("/busi.Busi/TransOut") */
  path: string;
  /** HTTP method, or "POST" for gRPC */
  method: string;
  gid: string;
  transType: string;
  branchId: string;
  op: string;
  /** HTTP: every query parameter (gRPC: none) */
  query: Record<string, string>;
  /** lower-cased HTTP headers or gRPC metadata (binary `-bin` values base64-encoded; repeated values joined ", ") */
  headers: Record<string, string>;
  /** raw request body / raw request message bytes */
  body: Buffer;
  /** Date.now() when received */
  at: number;
}

/** gRPC methods registered explicitly under `/busi.Busi/` (in addition to the wildcard fallback). */
export const GRPC_FIXED_METHODS: readonly string[] = [
  "TransOut",
  "TransOutRevert",
  "TransIn",
  "TransInRevert",
  "TransOutConfirm",
  "TransInConfirm",
  "TransOutTry",
  "TransInTry",
  "TransOutXa",
  "TransInXa",
  "TransOutHeaderYes",
  "TransOutHeaderNo",
  "TransInTccNested",
  "TransInRetry",
  "QueryPrepared",
  "QueryPreparedB",
  "Step1",
  "Step2",
  "Step3",
  "Step4",
  "Step5",
  "Step6",
  "Step7",
  "Step8",
  "Step9",
];

const DEFAULT_FAILURE_REASON = "Insufficient balance";
const DEFAULT_WAIT_MS = 5000;
const CLOSE_GRACE_MS = 2000;

const identity = (b: Buffer): Buffer => b;

interface Resolved {
  httpStatus: number;
  httpBody: string;
  grpcCode: grpc.status;
  grpcDetails: string;
}

interface HeldRequest {
  release(): void;
}

function routeName(path: string): string {
  const segs = path.split("/").filter((s) => s !== "");
  return segs.length ? segs[segs.length - 1] : "";
}

function grpcFromHttp(status: number, body: string): grpc.status {
  if (status === 425 || body.includes("ONGOING")) return grpc.status.FAILED_PRECONDITION;
  if (status === 409 || body.includes("FAILURE")) return grpc.status.ABORTED;
  if (status !== 200) return grpc.status.INTERNAL;
  return grpc.status.OK;
}

type UnaryHandler = grpc.handleUnaryCall<Buffer, Buffer>;

interface HandlerRecord {
  func: UnaryHandler;
  serialize: (b: Buffer) => Buffer;
  deserialize: (b: Buffer) => Buffer;
  type: "unary";
  path: string;
}

/** Handler map that answers any `/<service>/<method>` path with the generic handler (see file comment). */
class WildcardHandlerMap extends Map<string, HandlerRecord> {
  constructor(
    entries: Iterable<[string, HandlerRecord]>,
    private readonly generic: UnaryHandler,
  ) {
    super(entries);
  }

  override get(path: string): HandlerRecord | undefined {
    const found = super.get(path);
    if (found !== undefined) return found;
    if (typeof path !== "string" || !/^\/[^/]+\/[^/]+$/.test(path)) return undefined;
    const rec: HandlerRecord = {
      func: this.generic,
      serialize: identity,
      deserialize: identity,
      type: "unary",
      path,
    };
    super.set(path, rec);
    return rec;
  }
}

export class BranchServices {
  readonly httpBase: string;
  readonly grpcTarget: string;
  /** true when any gRPC method is answered; false when only GRPC_FIXED_METHODS are registered */
  readonly grpcWildcard: boolean;

  private readonly log: BranchCall[] = [];
  private readonly queues = new Map<string, Answer[]>();
  private readonly defaults = new Map<string, Answer>();
  private readonly required = new Map<string, Array<{ header: string; value: string }>>();
  private readonly held = new Set<HeldRequest>();
  private readonly hooks = new Map<string, (call: BranchCall) => Promise<void>>();
  private readonly waiters = new Set<{ n: number; resolve: (c: BranchCall[]) => void }>();
  private failureReason = DEFAULT_FAILURE_REASON;
  private closing = false;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly httpServer: http.Server,
    private readonly grpcServer: grpc.Server,
    httpPort: number,
    grpcPort: number,
    grpcWildcard: boolean,
  ) {
    this.httpBase = `http://127.0.0.1:${httpPort}/api/busi`;
    this.grpcTarget = `127.0.0.1:${grpcPort}`;
    this.grpcWildcard = grpcWildcard;
  }

  static async start(): Promise<BranchServices> {
    // Handlers close over `self`, which is assigned once both servers are listening.
    let self: BranchServices | undefined;

    const httpServer = http.createServer((req, res) => {
      if (self) self.onHttp(req, res);
      else {
        res.statusCode = 503;
        res.end();
      }
    });
    httpServer.keepAliveTimeout = 1000;

    const generic: UnaryHandler = (call, callback) => {
      if (self) self.onGrpc(call, callback);
      else callback({ code: grpc.status.UNAVAILABLE, details: "branch services starting" });
    };
    const grpcServer = new grpc.Server();
    for (const name of GRPC_FIXED_METHODS) {
      grpcServer.register(`/busi.Busi/${name}`, generic, identity, identity, "unary");
    }
    let wildcard = false;
    const internals = grpcServer as unknown as { handlers?: unknown };
    if (internals.handlers instanceof Map) {
      internals.handlers = new WildcardHandlerMap(internals.handlers as Map<string, HandlerRecord>, generic);
      wildcard = true;
    }

    const httpPort = await new Promise<number>((resolve, reject) => {
      httpServer.once("error", reject);
      httpServer.listen(0, "127.0.0.1", () => {
        httpServer.off("error", reject);
        resolve((httpServer.address() as import("node:net").AddressInfo).port);
      });
    });
    let grpcPort: number;
    try {
      grpcPort = await new Promise<number>((resolve, reject) => {
        grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
          err ? reject(err) : resolve(port),
        );
      });
    } catch (err) {
      await new Promise<void>((r) => httpServer.close(() => r()));
      throw err;
    }

    self = new BranchServices(httpServer, grpcServer, httpPort, grpcPort, wildcard);
    return self;
  }

  url(name: string): string {
    return `${this.httpBase}/${name}`;
  }

  grpcUrl(name: string): string {
    return `${this.grpcTarget}/busi.Busi/${name}`;
  }

  /** Queue one-shot answers for route `name`; after the queue empties the default applies. */
  script(name: string, ...answers: Answer[]): void {
    const q = this.queues.get(name);
    if (q) q.push(...answers);
    else this.queues.set(name, [...answers]);
  }

  /** Persistent answer for `name` (initially "OK"). */
  setDefault(name: string, answer: Answer): void {
    this.defaults.set(name, answer);
  }

  /** Reason used in FAIL answers: `{"error":"reason:<reason>. FAILURE"}` (default "Insufficient balance"). */
  setFailureReason(reason: string): void {
    this.failureReason = reason;
  }

  /**
   * Calls to `name` are answered ERR unless the header (HTTP, case-insensitive) / metadata key is present with
   * exactly `value`. Several requirements on one name must all hold. A call rejected this way does NOT consume a
   * scripted answer.
   */
  requireHeader(name: string, header: string, value: string): void {
    const list = this.required.get(name) ?? [];
    list.push({ header: header.toLowerCase(), value });
    this.required.set(name, list);
  }

  /**
   * Runs `hook` on every call to `name` before it is answered (a resource manager that registers its
   * branch with the coordinator, or a TCC try that registers a nested branch). A hook that throws makes
   * the call answer ERR.
   */
  onCall(name: string, hook: (call: BranchCall) => Promise<void>): void {
    this.hooks.set(name, hook);
  }

  /** Every call in arrival order (a copy). */
  calls(): BranchCall[] {
    return [...this.log];
  }

  callsTo(name: string): BranchCall[] {
    return this.log.filter((c) => routeName(c.path) === name);
  }

  clearCalls(): void {
    this.log.length = 0;
  }

  /** Resolves with all calls once at least `n` are logged; rejects after `timeoutMs` (default 5000). */
  waitForCalls(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<BranchCall[]> {
    if (this.log.length >= n) return Promise.resolve(this.calls());
    return new Promise<BranchCall[]>((resolve, reject) => {
      const waiter = {
        n,
        resolve: (c: BranchCall[]) => {
          clearTimeout(timer);
          resolve(c);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.log.map((c) => `${c.transport} ${c.path} op=${c.op} gid=${c.gid}`).join("; ");
        reject(
          new Error(`waitForCalls(${n}): only ${this.log.length} call(s) after ${timeoutMs}ms: [${seen}]`),
        );
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /**
   * Releases held (HANG) requests (HTTP: 503 `{"error":"service closed"}`, gRPC: UNAVAILABLE), closes both
   * servers and resolves when drained (connections still open after 2 s are forced closed). Idempotent.
   */
  close(): Promise<void> {
    if (!this.closed) this.closed = this.doClose();
    return this.closed;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    for (const h of [...this.held]) h.release();
    this.held.clear();

    const httpDone = new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.httpServer.closeAllConnections(), CLOSE_GRACE_MS);
      this.httpServer.close(() => {
        clearTimeout(timer);
        resolve();
      });
      this.httpServer.closeIdleConnections();
    });
    const grpcDone = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.grpcServer.forceShutdown();
        resolve();
      }, CLOSE_GRACE_MS);
      this.grpcServer.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await Promise.all([httpDone, grpcDone]);
  }

  // ---------------------------------------------------------------------------------------------------------

  private record(call: BranchCall): void {
    this.log.push(call);
    for (const w of [...this.waiters]) {
      if (this.log.length >= w.n) {
        this.waiters.delete(w);
        w.resolve(this.calls());
      }
    }
  }

  /** Picks the answer for a call: header requirements first, then the one-shot queue, then the default. */
  private nextAnswer(name: string, headers: Record<string, string>): Answer {
    const reqs = this.required.get(name);
    if (reqs && !reqs.every((r) => headers[r.header] === r.value)) return "ERR";
    const q = this.queues.get(name);
    if (q && q.length > 0) return q.shift() as Answer;
    return this.defaults.get(name) ?? "OK";
  }

  private resolve(answer: Exclude<Answer, "HANG">): Resolved {
    if (typeof answer === "object") {
      const code = answer.grpc ? answer.grpc.code : grpcFromHttp(answer.status, answer.body);
      return {
        httpStatus: answer.status,
        httpBody: answer.body,
        grpcCode: code,
        grpcDetails: answer.grpc?.details ?? answer.body,
      };
    }
    switch (answer) {
      case "OK":
        return {
          httpStatus: 200,
          httpBody: '{"dtm_result":"SUCCESS"}',
          grpcCode: grpc.status.OK,
          grpcDetails: "",
        };
      case "FAIL": {
        const msg = `reason:${this.failureReason}. FAILURE`;
        return {
          httpStatus: 409,
          httpBody: JSON.stringify({ error: msg }),
          grpcCode: grpc.status.ABORTED,
          grpcDetails: msg,
        };
      }
      case "ONG":
        return {
          httpStatus: 425,
          httpBody: '{"dtm_result":"ONGOING"}',
          grpcCode: grpc.status.FAILED_PRECONDITION,
          grpcDetails: "ONGOING",
        };
      case "ERR":
        return {
          httpStatus: 500,
          httpBody: '{"error":"injected error"}',
          grpcCode: grpc.status.INTERNAL,
          grpcDetails: "injected error",
        };
    }
    throw new Error(`unknown answer ${String(answer)}`);
  }

  private onHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const u = new URL(req.url ?? "/", "http://127.0.0.1");
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v === undefined) continue;
        headers[k.toLowerCase()] = Array.isArray(v) ? v.join(", ") : v;
      }
      const q = u.searchParams;
      const name = routeName(u.pathname);
      const call: BranchCall = {
        transport: "http",
        path: u.pathname,
        method: req.method ?? "GET",
        gid: q.get("gid") ?? "",
        transType: q.get("trans_type") ?? "",
        branchId: q.get("branch_id") ?? "",
        op: q.get("op") ?? "",
        query: Object.fromEntries(q),
        headers,
        body: Buffer.concat(chunks),
        at,
      };
      this.record(call);

      const send = (status: number, body: string) => {
        if (res.writableEnded || res.destroyed) return;
        res.writeHead(status, {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      };

      void this.runHook(name, call).then((hooked) => {
        const answer = hooked ? this.nextAnswer(name, headers) : "ERR";
        if (answer === "HANG") {
          const held: HeldRequest = {
            release: () => {
              res.setHeader("connection", "close");
              send(503, '{"error":"service closed"}');
            },
          };
          if (this.closing) return held.release();
          this.held.add(held);
          res.on("close", () => this.held.delete(held));
          return;
        }
        const r = this.resolve(answer);
        send(r.httpStatus, r.httpBody);
      });
    });
  }

  /** Runs the `onCall` hook of `name`, if any; false when it threw (the call answers ERR). */
  private async runHook(name: string, call: BranchCall): Promise<boolean> {
    const hook = this.hooks.get(name);
    if (!hook) return true;
    try {
      await hook(call);
      return true;
    } catch {
      return false;
    }
  }

  private onGrpc(call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>): void {
    const at = Date.now();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.toJSON())) {
      const vals = (v as Array<string | Buffer>).map((x) =>
        typeof x === "string" ? x : x.toString("base64"),
      );
      headers[k.toLowerCase()] = vals.join(", ");
    }
    const path = call.getPath();
    const name = routeName(path);
    const rec: BranchCall = {
      transport: "grpc",
      path,
      method: "POST",
      gid: headers["dtm-gid"] ?? "",
      transType: headers["dtm-trans_type"] ?? "",
      branchId: headers["dtm-branch_id"] ?? "",
      op: headers["dtm-op"] ?? "",
      query: {},
      headers,
      body: Buffer.from(call.request ?? Buffer.alloc(0)),
      at,
    };
    this.record(rec);
    void this.runHook(name, rec).then((hooked) => this.answerGrpc(name, headers, hooked, call, callback));
  }

  private answerGrpc(
    name: string,
    headers: Record<string, string>,
    hooked: boolean,
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    callback: grpc.sendUnaryData<Buffer>,
  ): void {
    const answer = hooked ? this.nextAnswer(name, headers) : "ERR";
    if (answer === "HANG") {
      let done = false;
      const held: HeldRequest = {
        release: () => {
          if (done) return;
          done = true;
          callback({ code: grpc.status.UNAVAILABLE, details: "service closed" });
        },
      };
      if (this.closing) return held.release();
      this.held.add(held);
      call.on("cancelled", () => {
        done = true;
        this.held.delete(held);
      });
      return;
    }
    const r = this.resolve(answer);
    if (r.grpcCode === grpc.status.OK) callback(null, Buffer.alloc(0));
    else callback({ code: r.grpcCode, details: r.grpcDetails });
  }
}
