/**
 * Minimal TCC and XA applications ("APs") and XA resource managers for the end-to-end tests, sending the
 * requests dtm's Go SDK sends (dtm-sdks notes §4): over HTTP (`client/dtmcli`) and gRPC (`client/dtmgrpc`).
 * Not a test file: imported by tcc*.test.ts and xa*.test.ts.
 */
import * as grpc from "@grpc/grpc-js";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { request } from "undici";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Dtm, type DtmTransOptionsSchema } from "../../gen/dtmgimp/dtmgimp_pb";
import type { BranchCall, BranchServices } from "../support/branch-services";
import type { TestCoordinator } from "../support/coordinator";

/** An answer of the coordinator or a branch: HTTP status (gRPC: code) and body text (gRPC: message). */
export interface Answer {
  status: number;
  body: string;
}

/** What a global transaction came to: the answers of the coordinator's calls, and the AP's error. */
export interface Outcome {
  prepare?: Answer;
  submit?: Answer;
  abort?: Answer;
  error?: Error;
}

/** One running global transaction at the AP: its gid and the branch id counter (dtm's BranchIDGen). */
export class ApTrans {
  private n = 0;
  constructor(
    readonly gid: string,
    readonly headers: Record<string, string> = {},
  ) {}

  /** `01`, `02`, … */
  nextBranchId(): string {
    return String(++this.n).padStart(2, "0");
  }
}

/** dtm's Go HTTP SDK: TransBase bodies (`concurrent` and `protocol` always present), flat registerBranch maps. */
export class GoHttpAp {
  constructor(
    private readonly dtx: TestCoordinator,
    private readonly rm: BranchServices,
  ) {}

  /** The dtm server URL the SDK is given (and passes to branches as `dtm`). */
  get dtm(): string {
    return `${this.dtx.base}/api/dtmsvr`;
  }

  /** dtm's TransBase JSON of a tcc or xa transaction with `opts` (wait_result, timeout_to_fail, …). */
  body(gid: string, transType: string, opts: Record<string, unknown> = {}): Record<string, unknown> {
    return { gid, trans_type: transType, ...opts, concurrent: false, protocol: "" };
  }

  /**
   * dtm's TccGlobalTransaction2 / XaGlobalTransaction2: prepare, run `fn`, then submit — or, when `fn`
   * throws, abort (TCC with `rollback_reason` = the error's text).
   */
  async global(
    gid: string,
    transType: "tcc" | "xa",
    opts: Record<string, unknown>,
    fn: (t: ApTrans) => Promise<void>,
  ): Promise<Outcome> {
    const body = this.body(gid, transType, opts);
    const headers = (opts.branch_headers as Record<string, string> | undefined) ?? {};
    const out: Outcome = { prepare: await this.post("prepare", body) };
    if (out.prepare!.status !== 200) return out;
    try {
      await fn(new ApTrans(gid, headers));
    } catch (err) {
      out.error = err as Error;
      const reason = transType === "tcc" ? { rollback_reason: out.error.message } : {};
      out.abort = await this.post("abort", { ...body, ...reason });
      return out;
    }
    out.submit = await this.post("submit", body);
    return out;
  }

  /** dtm's TCC CallBranch: registerBranch, then the try with `dtm`, `gid`, `branch_id`, `trans_type`, `op=try`. */
  async tccBranch(
    t: ApTrans,
    body: unknown,
    tryName: string,
    confirm: string,
    cancel: string,
  ): Promise<void> {
    const branchId = t.nextBranchId();
    const data = JSON.stringify(body);
    const reg = { gid: t.gid, trans_type: "tcc", data, branch_id: branchId, confirm, cancel };
    await expectOk(this.post("registerBranch", reg));
    await expectOk(this.branch(this.rm.url(tryName), t, branchId, "tcc", "try", data));
  }

  /** dtm's XA CallBranch: the resource manager's URL with `op=action` and `phase2_url` (itself). */
  async xaBranch(t: ApTrans, body: Uint8Array, name: string): Promise<void> {
    const url = this.rm.url(name);
    const text = Buffer.from(body).toString();
    await expectOk(this.branch(url, t, t.nextBranchId(), "xa", "action", text, url));
  }

  /** POST to a dtm route. */
  post(route: string, body: unknown): Promise<Answer> {
    return send(`${this.dtm}/${route}`, JSON.stringify(body), {});
  }

  private branch(
    url: string,
    t: ApTrans,
    branchId: string,
    transType: string,
    op: string,
    data: string,
    phase2?: string,
  ): Promise<Answer> {
    const q = new URLSearchParams({
      dtm: this.dtm,
      gid: t.gid,
      branch_id: branchId,
      trans_type: transType,
      op,
    });
    if (phase2) q.set("phase2_url", phase2);
    return send(`${url}?${q}`, data, t.headers);
  }
}

/** dtm's Go gRPC SDK (`client/dtmgrpc`): DtmRequest with `Steps: "null"`, RegisterBranch with `Data`, `dtm-*` metadata. */
export class GoGrpcAp {
  readonly dtm: Client<typeof Dtm>;
  private readonly sessions: Http2SessionManager;
  private readonly channels = new Map<string, grpc.Client>();

  constructor(
    private readonly dtx: TestCoordinator,
    private readonly rm: BranchServices,
  ) {
    this.sessions = new Http2SessionManager(dtx.base);
    this.dtm = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base, sessionManager: this.sessions }));
  }

  /** As GoHttpAp.global, over dtm's gRPC API; the abort carries `RollbackReason` for TCC only. */
  async global(
    gid: string,
    transType: "tcc" | "xa",
    opts: MessageInitShape<typeof DtmTransOptionsSchema>,
    fn: (t: ApTrans) => Promise<void>,
  ): Promise<Outcome> {
    const req = { Gid: gid, TransType: transType, Steps: "null", TransOptions: opts };
    const out: Outcome = { prepare: await grpcAnswer(this.dtm.prepare(req)) };
    if (out.prepare!.status !== 0) return out;
    try {
      await fn(new ApTrans(gid, opts.BranchHeaders ?? {}));
    } catch (err) {
      out.error = err as Error;
      const reason = transType === "tcc" ? out.error.message : "";
      out.abort = await grpcAnswer(this.dtm.abort({ ...req, RollbackReason: reason }));
      return out;
    }
    out.submit = await grpcAnswer(this.dtm.submit(req));
    return out;
  }

  /** dtm's gRPC TCC CallBranch: RegisterBranch (URLs in `Data`, the message in `BusiPayload`), then the try. */
  async tccBranch(t: ApTrans, payload: Uint8Array, tryName: string, confirm: string, cancel: string) {
    const branchId = t.nextBranchId();
    await this.dtm.registerBranch({
      Gid: t.gid,
      TransType: "tcc",
      BranchID: branchId,
      BusiPayload: payload,
      Data: { confirm, cancel },
    });
    await expectGrpcOk(this.invoke(this.rm.grpcUrl(tryName), payload, t, branchId, "tcc", "try"));
  }

  /** dtm's gRPC XA CallBranch: the resource manager with `dtm-op=action` and `dtm-phase2_url`. */
  async xaBranch(t: ApTrans, payload: Uint8Array, name: string): Promise<void> {
    const url = this.rm.grpcUrl(name);
    await expectGrpcOk(this.invoke(url, payload, t, t.nextBranchId(), "xa", "action", url));
  }

  /** A raw gRPC call of `host:port/pkg.Service/Method` with dtm's `dtm-*` metadata. */
  invoke(
    url: string,
    payload: Uint8Array,
    t: ApTrans,
    branchId: string,
    transType: string,
    op: string,
    phase2 = "",
  ): Promise<Answer> {
    const slash = url.indexOf("/");
    const target = url.slice(0, slash);
    let channel = this.channels.get(target);
    if (!channel) {
      channel = new grpc.Client(target, grpc.credentials.createInsecure());
      this.channels.set(target, channel);
    }
    const md = new grpc.Metadata();
    const meta = { dtm: this.dtx.grpcTarget, gid: t.gid, branch_id: branchId, trans_type: transType, op };
    for (const [k, v] of Object.entries(meta)) md.set(`dtm-${k}`, v);
    if (phase2) md.set("dtm-phase2_url", phase2);
    for (const [k, v] of Object.entries(t.headers)) md.set(k, v);
    const identity = (b: Buffer): Buffer => b;
    return new Promise((resolve) => {
      channel.makeUnaryRequest(url.slice(slash), identity, identity, Buffer.from(payload), md, (err) =>
        resolve({ status: err?.code ?? 0, body: err?.details ?? "" }),
      );
    });
  }

  close(): void {
    for (const c of this.channels.values()) c.close();
    this.sessions.abort();
  }
}

/**
 * XA resource managers on the test branch services: a call with `op=action` registers the branch (its
 * `phase2_url`, over the coordinator API the call came from: HTTP `dtm` or gRPC `dtm-dtm`) before
 * answering, as dtm's XaLocalTransaction does after its business SQL — unless the test made its local
 * transaction fail (`failLocally`), when it answers without registering.
 */
export class XaResourceManagers {
  private readonly failing = new Map<string, number>();

  constructor(
    private readonly rm: BranchServices,
    private readonly grpcAp: GoGrpcAp,
    names: string[],
  ) {
    for (const name of names) rm.onCall(name, (call) => this.onCall(name, call));
  }

  /** The next `times` action calls of `name` fail locally: answered `answer`, no registration. */
  failLocally(name: string, answer: "FAIL" | "ERR", times = 1): void {
    this.failing.set(name, (this.failing.get(name) ?? 0) + times);
    for (let i = 0; i < times; i++) this.rm.script(name, answer);
  }

  private async onCall(name: string, call: BranchCall): Promise<void> {
    if (call.op !== "action") return; // phase 2: answered as scripted
    const left = this.failing.get(name) ?? 0;
    if (left > 0) {
      this.failing.set(name, left - 1);
      return;
    }
    if (call.transport === "http") {
      const reg = { gid: call.gid, trans_type: "xa", url: call.query.phase2_url, branch_id: call.branchId };
      await expectOk(send(`${call.query.dtm}/registerBranch`, JSON.stringify(reg), {}));
      return;
    }
    await this.grpcAp.dtm.registerBranch({
      Gid: call.gid,
      TransType: "xa",
      BranchID: call.branchId,
      Data: { url: call.headers["dtm-phase2_url"]! },
    });
  }
}

/** POSTs a body; the answer's status and text. */
export async function send(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const res = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: res.statusCode, body: await res.body.text() };
}

/** Throws, as dtm's SDKs do, unless the answer is 200 without FAILURE or ONGOING in it. */
export async function expectOk(answer: Promise<Answer>): Promise<void> {
  const a = await answer;
  if (a.status !== 200 || a.body.includes("FAILURE") || a.body.includes("ONGOING")) {
    throw new Error(`${a.status} ${a.body}`);
  }
}

/** Throws unless a gRPC answer is OK. */
async function expectGrpcOk(answer: Promise<Answer>): Promise<void> {
  const a = await answer;
  if (a.status !== 0) throw new Error(`rpc error: code = ${a.status} desc = ${a.body}`);
}

/** A gRPC call's outcome as an Answer (code 0 = OK). */
export async function grpcAnswer(call: Promise<unknown>): Promise<Answer> {
  try {
    await call;
    return { status: 0, body: "" };
  } catch (err) {
    const e = err as { code?: number; rawMessage?: string; message: string };
    return { status: e.code ?? -1, body: e.rawMessage ?? e.message };
  }
}

/** `[route, op, branch_id]` of dtm's TCC transfer (TransOut 01, TransIn 02) when both tries succeed and it is confirmed. */
export const TCC_CONFIRMED: Array<[string, string, string]> = [
  ["TransOutTry", "try", "01"],
  ["TransInTry", "try", "02"],
  ["TransInConfirm", "confirm", "02"],
  ["TransOutConfirm", "confirm", "01"],
];

/**
 * The same transfer when try 02 fails and cancel 01 answers ONGOING once: cancel 02 although its try
 * failed, the last registered first, and cancel 01 again from the next pass.
 */
export const TCC_CANCELLED_RETRIED: Array<[string, string, string]> = [
  ["TransOutTry", "try", "01"],
  ["TransInTry", "try", "02"],
  ["TransInRevert", "cancel", "02"],
  ["TransOutRevert", "cancel", "01"],
  ["TransOutRevert", "cancel", "01"],
];
