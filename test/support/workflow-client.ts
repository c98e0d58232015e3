/**
 * A minimal workflow client for end-to-end tests, reproducing what dtm's Go workflow client
 * (`client/workflow`) sends and how it reads the answers (see /work/notes/dtm-sdks.md §4):
 *
 * - `prepareWorkflow` with the TransBase JSON `{gid, trans_type, custom_data:'{"data":…,"name":…}',
 *   concurrent, query_prepared, protocol}` (gRPC: `PrepareWorkflow(DtmRequest)`); the answer is
 *   decoded as protobuf JSON into `DtmProgressesReply`, ignoring unknown keys and the HTTP status,
 *   and `transaction.status` decides: `succeed` returns the stored result, `failed` a FAILURE, else
 *   the workflow runs, skipping the steps recorded in `progresses`;
 * - each step's outcome through `registerBranch {gid, trans_type, data, branch_id, op, status}`
 *   (gRPC: `RegisterBranch{…, BusiPayload, Data:{status, op}}`): SUCCESS as `succeed`, FAILURE as
 *   `failed` with the error text; ONGOING and errors are not recorded;
 * - commit ops after success, rollback ops after a FAILURE, last first, recorded the same way;
 * - `submit {gid, trans_type, req_extra:{status, rollback_reason, result}}` unless the workflow
 *   ended ONGOING or with an error;
 * - a callback server the coordinator resumes workflows through: HTTP (query `gid`, `op` = the
 *   workflow's name, the input as body) or gRPC `workflow.Workflow/Execute(WorkflowData)` with
 *   `dtm-gid` / `dtm-op` metadata.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { request } from "undici";
import { Dtm, DtmProgressesReplySchema, type DtmProgressesReply } from "../../gen/dtmgimp/dtmgimp_pb";

/** How a workflow, a step or a call ended when it did not succeed (dtm's error vocabulary). */
export class WfError extends Error {
  constructor(
    readonly kind: "FAILURE" | "ONGOING" | "ERROR",
    message: string,
  ) {
    super(message);
  }
}

/** A workflow function: runs steps through `wf`, returns the workflow's result. */
export type WfFunc = (wf: Workflow, input: Buffer) => Promise<Buffer | void>;

/** One resume call the coordinator made. */
export interface Resume {
  transport: "http" | "grpc";
  method: string;
  gid: string;
  transType: string;
  branchId: string;
  op: string;
  body: Buffer;
}

/** One request the client sent to the coordinator: its route and what it sent. */
export interface SentRequest {
  route: "prepareWorkflow" | "registerBranch" | "submit";
  body: Record<string, unknown>;
}

interface Registered {
  fn: WfFunc;
  compensateErrorBranch: boolean;
}

export class WorkflowClient {
  readonly resumes: Resume[] = [];
  readonly sent: SentRequest[] = [];
  /** Every prepareWorkflow answer, decoded. */
  readonly replies: DtmProgressesReply[] = [];
  private readonly workflows = new Map<string, Registered>();
  private readonly sessions: Http2SessionManager;
  private readonly dtm: Client<typeof Dtm>;

  private constructor(
    /** The coordinator, `http://host:port`. */
    readonly coordinator: string,
    readonly protocol: "http" | "grpc",
    private readonly httpServer: http.Server,
    private readonly grpcServer: grpc.Server,
    private readonly httpPort: number,
    private readonly grpcPort: number,
  ) {
    this.sessions = new Http2SessionManager(coordinator);
    this.dtm = createClient(
      Dtm,
      createGrpcTransport({ baseUrl: coordinator, sessionManager: this.sessions }),
    );
  }

  /** Starts the callback servers (HTTP and gRPC on 127.0.0.1, port 0). */
  static async start(coordinator: string, protocol: "http" | "grpc"): Promise<WorkflowClient> {
    let self: WorkflowClient | undefined;
    const httpServer = http.createServer((req, res) => void self?.onHttp(req, res));
    await new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve));
    const grpcServer = new grpc.Server();
    const identity = (b: Buffer): Buffer => b;
    grpcServer.register(
      "/workflow.Workflow/Execute",
      (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
        void self?.onGrpc(call, done),
      identity,
      identity,
      "unary",
    );
    const grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    const httpPort = (httpServer.address() as AddressInfo).port;
    self = new WorkflowClient(coordinator, protocol, httpServer, grpcServer, httpPort, grpcPort);
    return self;
  }

  /** The callback the workflows register (`query_prepared`). */
  get callback(): string {
    return this.protocol === "http"
      ? `http://127.0.0.1:${this.httpPort}/api/busi/workflow/resume`
      : `127.0.0.1:${this.grpcPort}/workflow.Workflow/Execute`;
  }

  /** Registers a workflow under its name (dtm's `workflow.Register`). */
  register(name: string, fn: WfFunc, opts: { compensateErrorBranch?: boolean } = {}): void {
    this.workflows.set(name, { fn, compensateErrorBranch: opts.compensateErrorBranch ?? false });
  }

  /** Runs (or resumes) workflow `name` as `gid` (dtm's `workflow.Execute`). Throws a WfError. */
  async execute(name: string, gid: string, input: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    const registered = this.workflows.get(name);
    if (!registered) throw new Error(`no workflow ${name}`);
    const reply = await this.prepare(name, gid, input);
    this.replies.push(reply);
    // dtm's Go client dereferences reply.Transaction: a reply without one would crash it
    if (!reply.Transaction) throw new Error("prepareWorkflow answered without a transaction");
    const { Status, Result, RollbackReason } = reply.Transaction;
    if (Status === "succeed") return Buffer.from(Result, "base64");
    if (Status === "failed") throw new WfError("FAILURE", `${RollbackReason} FAILURE`);
    const progress = new Map(
      reply.Progresses.map((p) => [
        `${p.BranchID}-${p.Op}`,
        { status: p.Status, data: Buffer.from(p.BinData) },
      ]),
    );
    const wf = new Workflow(this, gid, registered.compensateErrorBranch, progress);
    let result: Buffer = Buffer.alloc(0);
    let err: unknown = null;
    try {
      result = (await registered.fn(wf, input)) ?? Buffer.alloc(0);
    } catch (e) {
      err = e;
    }
    if (err !== null && !isFailure(err)) throw err;
    err = await wf.phase2(err);
    if (err !== null && !isFailure(err)) throw err;
    await this.submit(gid, result, err);
    if (err !== null) throw err;
    return result;
  }

  /** Stops the callback servers and the gRPC session. */
  async close(): Promise<void> {
    this.sessions.abort();
    await new Promise<void>((resolve) => this.grpcServer.tryShutdown(() => resolve()));
    this.httpServer.closeAllConnections();
    await new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
  }

  private async prepare(name: string, gid: string, input: Buffer): Promise<DtmProgressesReply> {
    // Go's map encoder sorts the keys: data first; no input is null
    const customData = JSON.stringify({ data: input.length ? input.toString("base64") : null, name });
    if (this.protocol === "grpc") {
      const req = { Gid: gid, TransType: "workflow", CustomedData: customData, QueryPrepared: this.callback };
      this.sent.push({ route: "prepareWorkflow", body: req });
      return this.grpcCall(() => this.dtm.prepareWorkflow({ ...req, Steps: "null" }));
    }
    const body = {
      gid,
      trans_type: "workflow",
      custom_data: customData,
      concurrent: false,
      query_prepared: this.callback,
      protocol: "http",
    };
    this.sent.push({ route: "prepareWorkflow", body });
    const res = await request(`${this.coordinator}/api/dtmsvr/prepareWorkflow`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    // the status code is ignored; a body protobuf JSON cannot decode is an error
    const text = await res.body.text();
    try {
      return fromJson(DtmProgressesReplySchema, JSON.parse(text) as JsonValue, { ignoreUnknownFields: true });
    } catch (e) {
      throw new WfError("ERROR", `prepareWorkflow answer not decodable: ${(e as Error).message}: ${text}`);
    }
  }

  /** Records one step's outcome (dtm's TransRegisterBranch: an error unless 200 without FAILURE). */
  async registerBranch(
    gid: string,
    branchId: string,
    op: string,
    status: string,
    data: Buffer,
  ): Promise<void> {
    if (this.protocol === "grpc") {
      const req = {
        Gid: gid,
        TransType: "workflow",
        BranchID: branchId,
        BusiPayload: data,
        Data: { status, op },
      };
      this.sent.push({ route: "registerBranch", body: req });
      await this.grpcCall(() => this.dtm.registerBranch(req));
      return;
    }
    const body = { gid, trans_type: "workflow", data: data.toString(), branch_id: branchId, op, status };
    this.sent.push({ route: "registerBranch", body });
    await this.post("registerBranch", body);
  }

  private async submit(gid: string, result: Buffer, err: unknown): Promise<void> {
    const reqExtra = {
      status: err === null ? "succeed" : "failed",
      rollback_reason: err === null ? "" : (err as Error).message,
      result: result.toString("base64"),
    };
    if (this.protocol === "grpc") {
      const req = { Gid: gid, TransType: "workflow", ReqExtra: reqExtra };
      this.sent.push({ route: "submit", body: req });
      await this.grpcCall(() => this.dtm.submit({ ...req, Steps: "null" }));
      return;
    }
    const body = { gid, trans_type: "workflow", req_extra: reqExtra };
    this.sent.push({ route: "submit", body });
    await this.post("submit", body);
  }

  private async post(route: string, body: unknown): Promise<void> {
    const res = await request(`${this.coordinator}/api/dtmsvr/${route}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== 200 || text.includes("FAILURE")) throw new WfError("ERROR", `${route}: ${text}`);
  }

  private async grpcCall<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      throw new WfError("ERROR", (e as Error).message);
    }
  }

  private async onHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const q = new URL(req.url ?? "/", "http://x").searchParams;
    const resume: Resume = {
      transport: "http",
      method: req.method ?? "",
      gid: q.get("gid") ?? "",
      transType: q.get("trans_type") ?? "",
      branchId: q.get("branch_id") ?? "",
      op: q.get("op") ?? "",
      body: Buffer.concat(chunks),
    };
    this.resumes.push(resume);
    const [status, body] = await this.resume(resume.op, resume.gid, resume.body).then(
      () => [200, '{"dtm_result":"SUCCESS"}'] as const,
      (e: unknown) => {
        const kind = e instanceof WfError ? e.kind : "ERROR";
        const message = JSON.stringify({ message: (e as Error).message });
        return kind === "FAILURE"
          ? ([409, message] as const)
          : kind === "ONGOING"
            ? ([425, message] as const)
            : ([500, message] as const);
      },
    );
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  }

  private async onGrpc(
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    done: grpc.sendUnaryData<Buffer>,
  ): Promise<void> {
    const md = (key: string): string => String(call.metadata.get(key)[0] ?? "");
    const resume: Resume = {
      transport: "grpc",
      method: call.getPath(),
      gid: md("dtm-gid"),
      transType: md("dtm-trans_type"),
      branchId: md("dtm-branch_id"),
      op: md("dtm-op"),
      body: Buffer.from(call.request),
    };
    this.resumes.push(resume);
    try {
      await this.resume(resume.op, resume.gid, workflowDataInput(resume.body));
      done(null, Buffer.alloc(0));
    } catch (e) {
      const kind = e instanceof WfError ? e.kind : "ERROR";
      const code =
        kind === "FAILURE"
          ? grpc.status.ABORTED
          : kind === "ONGOING"
            ? grpc.status.FAILED_PRECONDITION
            : grpc.status.INTERNAL;
      done({ code, details: (e as Error).message });
    }
  }

  private async resume(name: string, gid: string, input: Buffer): Promise<void> {
    await this.execute(name, gid, input);
  }
}

/** The input inside a `workflow.WorkflowData` message (field 1, bytes). */
export function workflowDataInput(message: Buffer): Buffer {
  if (message.length === 0) return message;
  if (message[0] !== 0x0a) throw new Error(`not a WorkflowData message: ${message.toString("hex")}`);
  let length = 0;
  let i = 1;
  for (let shift = 0; ; shift += 7) {
    const byte = message[i++]!;
    length |= (byte & 0x7f) << shift;
    if (byte < 0x80) break;
  }
  return message.subarray(i, i + length);
}

function isFailure(e: unknown): boolean {
  return e instanceof WfError && e.kind === "FAILURE";
}

/** One run of a workflow: its branches, the recorded progress, the phase-2 ops registered so far. */
export class Workflow {
  private seq = 0;
  private branchId = "";
  private op = "action";
  private readonly succeededOps: Array<{ branchId: string; fn: () => Promise<void> }> = [];
  private readonly failedOps: Array<{ branchId: string; fn: () => Promise<void> }> = [];

  constructor(
    private readonly client: WorkflowClient,
    readonly gid: string,
    private readonly compensateErrorBranch: boolean,
    private readonly progress: Map<string, { status: string; data: Buffer }>,
  ) {}

  /** A new branch (`01`, `02`, …): its phase-2 ops, then one recorded action. */
  newBranch(): Branch {
    this.branchId = String(++this.seq).padStart(2, "0");
    this.op = "action";
    return new Branch(this, this.branchId);
  }

  /** @internal */
  addPhase2(kind: "commit" | "rollback", branchId: string, fn: () => Promise<void>): void {
    (kind === "commit" ? this.succeededOps : this.failedOps).push({ branchId, fn });
  }

  /**
   * Calls an RM over HTTP as the workflow's resty middleware does: POST with the query parameters
   * of the current branch and op; 425/ONGOING → ONGOING, 409/FAILURE → FAILURE, other non-200 → error.
   */
  async call(url: string, body: unknown): Promise<Buffer> {
    const u = new URL(url);
    u.searchParams.set("gid", this.gid);
    u.searchParams.set("trans_type", "workflow");
    u.searchParams.set("branch_id", this.branchId);
    u.searchParams.set("op", this.op);
    const res = await request(u, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode === 425 || text.includes("ONGOING")) throw new WfError("ONGOING", text);
    if (res.statusCode === 409 || text.includes("FAILURE")) throw new WfError("FAILURE", text);
    if (res.statusCode !== 200) throw new WfError("ERROR", text);
    return Buffer.from(text);
  }

  /**
   * Runs one step unless its outcome is recorded (then that outcome is returned again): SUCCESS is
   * recorded `succeed` with its data, FAILURE `failed` with the error text; ONGOING and errors are
   * not recorded and end the workflow without a submit.
   */
  async recorded(fn: () => Promise<Buffer | void>): Promise<Buffer> {
    const branchId = this.branchId;
    let outcome = this.progress.get(`${branchId}-${this.op}`);
    if (!outcome) {
      try {
        outcome = { status: "succeed", data: (await fn()) ?? Buffer.alloc(0) };
      } catch (e) {
        if (!isFailure(e)) throw e;
        outcome = { status: "failed", data: Buffer.from((e as Error).message) };
      }
      await this.client.registerBranch(this.gid, branchId, this.op, outcome.status, outcome.data);
    }
    if (outcome.status !== "failed") return outcome.data;
    // dtm's default: the branch that failed is not compensated
    const last = this.failedOps[this.failedOps.length - 1];
    if (!this.compensateErrorBranch && last?.branchId === branchId) this.failedOps.pop();
    throw new WfError("FAILURE", outcome.data.toString());
  }

  /** @internal The commit ops after success, the rollback ops after a FAILURE, last first. */
  async phase2(err: unknown): Promise<unknown> {
    this.op = err === null ? "commit" : "rollback";
    const ops = err === null ? this.succeededOps : this.failedOps;
    for (const { branchId, fn } of [...ops].reverse()) {
      this.branchId = branchId;
      try {
        await this.recorded(fn);
      } catch (e) {
        return e;
      }
    }
    return err;
  }
}

/** A branch of a workflow: `onRollback` / `onCommit` ops, then its recorded action. */
export class Branch {
  constructor(
    private readonly wf: Workflow,
    readonly branchId: string,
  ) {}

  onRollback(fn: () => Promise<void>): this {
    this.wf.addPhase2("rollback", this.branchId, fn);
    return this;
  }

  onCommit(fn: () => Promise<void>): this {
    this.wf.addPhase2("commit", this.branchId, fn);
    return this;
  }

  /** The branch's action, recorded. */
  do(fn: () => Promise<Buffer | void>): Promise<Buffer> {
    return this.wf.recorded(fn);
  }

  /** The branch's action as an HTTP call of an RM (`wf.NewBranch().NewRequest().Post(url)`). */
  post(url: string, body: unknown): Promise<Buffer> {
    return this.do(() => this.wf.call(url, body));
  }
}
