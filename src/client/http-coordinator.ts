import { request } from "undici";
import { CoordinatorError } from "./errors";
import { payloadText } from "./payload";
import { envelopeMessage, httpVerdict } from "./verdict";
import type { CoordinatorTransport, RegisterRequest, TransRequest, WorkflowProgress } from "./wire";

/** dtm's prepareWorkflow answer (the query route's shapes). */
interface DtmProgresses {
  transaction?: { status?: unknown; result?: string; rollback_reason?: string };
  progresses?: Array<{ branch_id?: string; op?: string; status?: string; bin_data?: string }>;
}

/**
 * dtm's HTTP routes (`/api/dtmsvr/*`): JSON bodies, durations in seconds, payloads as text. A request
 * fails when the answer is not 200 or its body says FAILURE, as dtm's own clients judge it.
 */
export class HttpCoordinator implements CoordinatorTransport {
  readonly protocol = "http";
  /** The base URL of dtm's routes, e.g. `http://localhost:36789/api/dtmsvr`. */
  readonly address: string;

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    const u = new URL(url);
    if (u.pathname === "/" || u.pathname === "") u.pathname = "/api/dtmsvr";
    this.address = u.toString().replace(/\/+$/, "");
  }

  async newGid(): Promise<string> {
    const body = (await this.send("newGid", "", "GET")) as { gid?: unknown };
    if (typeof body?.gid !== "string") {
      throw new CoordinatorError("newGid", "", 200, undefined, `no gid in ${JSON.stringify(body)}`);
    }
    return body.gid;
  }

  async call(operation: "prepare" | "submit" | "abort", t: TransRequest): Promise<void> {
    await this.send(operation, t.gid, "POST", dtmBody(t));
  }

  async registerBranch(r: RegisterRequest): Promise<void> {
    const body = {
      gid: r.gid,
      trans_type: r.transType,
      branch_id: r.branchId,
      data: payloadText(r.payload, "payload"),
      ...r.data,
    };
    await this.send("registerBranch", r.gid, "POST", body);
  }

  async prepareWorkflow(t: TransRequest): Promise<WorkflowProgress> {
    // the answer holds recorded step data, where the word FAILURE is no verdict
    const body = (await this.send(
      "prepareWorkflow",
      t.gid,
      "POST",
      dtmBody(t),
      false,
    )) as DtmProgresses | null;
    const trans = body?.transaction;
    if (!trans || typeof trans.status !== "string" || !Array.isArray(body?.progresses)) {
      throw new CoordinatorError(
        "prepareWorkflow",
        t.gid,
        200,
        undefined,
        `unexpected answer ${JSON.stringify(body)}`,
      );
    }
    return {
      status: trans.status,
      result: Buffer.from(trans.result ?? "", "base64"),
      rollbackReason: trans.rollback_reason ?? "",
      steps: body.progresses.map((p) => ({
        branchId: p.branch_id ?? "",
        op: p.op ?? "",
        status: p.status ?? "",
        data: Buffer.from(p.bin_data ?? "", "base64"),
      })),
    };
  }

  /** Nothing to close: requests share undici's global keep-alive pool. */
  async close(): Promise<void> {}

  private async send(
    operation: string,
    gid: string,
    method: "GET" | "POST",
    body?: unknown,
    verdictInBody = true,
  ): Promise<unknown> {
    let status: number;
    let text: string;
    try {
      const res = await request(`${this.address}/${operation}`, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = res.statusCode;
      text = await res.body.text();
    } catch (err) {
      throw new CoordinatorError(operation, gid, undefined, undefined, (err as Error).message);
    }
    if (status === 200 && !(verdictInBody && text.includes("FAILURE"))) return text ? JSON.parse(text) : null;
    throw new CoordinatorError(operation, gid, status, httpVerdict(status, text), envelopeMessage(text));
  }
}

/** dtm's transaction body (§2.3 of the protocol): snake_case keys, seconds, text payloads. */
function dtmBody(t: TransRequest): Record<string, unknown> {
  const o = t.options;
  const urls = [...(t.steps ?? []).flatMap((s) => Object.values(s)), t.queryPrepared ?? ""];
  const body: Record<string, unknown> = {
    gid: t.gid,
    trans_type: t.transType,
    // branches at host:port/pkg.Service/Method are gRPC; http(s) URLs are called over HTTP either way
    protocol: urls.some((u) => u !== "" && !/^https?:\/\//.test(u)) ? "grpc" : "http",
    steps: t.steps,
    payloads: t.payloads?.map((p, i) => payloadText(p, `steps[${i}]`)),
    custom_data: t.customData,
    query_prepared: t.queryPrepared,
    concurrent: t.concurrent,
    rollback_reason: t.rollbackReason,
    req_extra: t.reqExtra,
    wait_result: o.waitResult,
    timeout_to_fail: o.timeoutToFail,
    request_timeout: o.requestTimeout,
    retry_interval: o.retryInterval,
    retry_limit: o.retryLimit,
    branch_headers: o.branchHeaders,
  };
  for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
  return body;
}
