import { EventEmitter } from "node:events";
import { Agent, type Dispatcher } from "undici";
import type { BranchRequest, BranchResult } from "../core/branch-caller";
import { newGid } from "../core/gid";
import { refusedHeader } from "./refused-header";
import { classifyHttp, classifyJsonRpc } from "./result";
import { TargetCache, type Target } from "./target-cache";

/**
 * How much of an answer is read and classified. dtm's rules look for `ONGOING` and `FAILURE` anywhere
 * in the body; branch answers that carry them are small JSON (`{"dtm_result":"FAILURE",…}`), so the
 * first 64 KiB classify every real answer, while a huge one costs at most this much memory per call.
 * The rest is drained as it arrives — never held — so the connection stays reusable.
 */
export const CLASSIFIED_BYTES = 64 * 1024;

/**
 * Calls HTTP branches through one keep-alive undici Agent (a bounded pool per origin, idle
 * connections closed after `keepAliveTimeout`): POST with the payload as body (GET when it is
 * empty), `gid`, `trans_type`, `branch_id`, `op` appended to the query. JSON-RPC branches (dtm's §4.3)
 * go through the same pool.
 */
export class HttpCaller {
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  private readonly targets = new TargetCache();
  private closed = false;

  /** Calls the branch; never throws (network errors and timeouts are ERROR results). */
  async call(req: BranchRequest): Promise<BranchResult> {
    const target = this.targets.withQuery(req.url, [
      ["gid", req.gid],
      ["trans_type", req.transType],
      ["branch_id", req.branchId],
      ["op", req.op],
    ]);
    if (!target) return { outcome: "ERROR", detail: `http call ${req.url} failed: not a URL` };
    const post = req.payload.length > 0 || req.forcePost === true;
    const answer = await this.send(req, target, post ? req.payload : undefined);
    return "outcome" in answer ? answer : classifyHttp(answer.status, answer.body);
  }

  /**
   * Calls a JSON-RPC branch: POST to the URL as it is, `{"jsonrpc":"2.0","method":<the URL's method
   * query parameter>,"id":<fresh>,"params":<the payload's JSON object plus gid, trans_type,
   * branch_id, op>}`; the answer is judged by the HTTP rules first, then by its `error`.
   */
  async callJsonRpc(req: BranchRequest): Promise<BranchResult> {
    const url = parseUrl(req.url);
    if (!url) return { outcome: "ERROR", detail: `json-rpc call ${req.url} failed: not a URL` };
    const params = req.payload.length > 0 ? jsonObject(req.payload) : {};
    if (!params)
      return { outcome: "ERROR", detail: `json-rpc call ${req.url}: the payload is not a JSON object` };
    const body = JSON.stringify({
      jsonrpc: "2.0",
      method: url.searchParams.get("method") ?? "",
      id: newGid(),
      params: { ...params, gid: req.gid, trans_type: req.transType, branch_id: req.branchId, op: req.op },
    });
    const answer = await this.send(
      req,
      { origin: url.origin, path: url.pathname + url.search },
      Buffer.from(body),
    );
    return "outcome" in answer ? answer : classifyJsonRpc(answer.status, answer.body);
  }

  /** One request with the branch's headers and timeout: the status and the head of the body, or an ERROR. */
  private async send(
    req: BranchRequest,
    target: Target,
    body: Buffer | undefined,
  ): Promise<{ status: number; body: string } | BranchResult> {
    if (this.closed) return { outcome: "ERROR", detail: "the coordinator is stopping" };
    const refused = refusedHeader(req, "http");
    if (refused) return refused;
    // the whole call's deadline; cleared when it ends, so an answered call leaves no timer behind.
    // undici takes an EventEmitter as its signal: far cheaper to make than an AbortController
    const deadline = new EventEmitter();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      deadline.emit("abort");
    }, req.timeoutMs);
    try {
      const res = await this.agent.request({
        origin: target.origin,
        method: body ? "POST" : "GET",
        path: target.path,
        headers: req.headers ? { "content-type": "application/json", ...req.headers } : JSON_CONTENT,
        body,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: deadline,
      });
      return { status: res.statusCode, body: await readHead(res, CLASSIFIED_BYTES) };
    } catch (err) {
      const why = timedOut ? `no answer within ${req.timeoutMs} ms` : (err as Error).message;
      return { outcome: "ERROR", detail: `http call ${req.url} failed: ${why}` };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Refuses new calls and closes every connection; in-flight calls end as errors. */
  async close(): Promise<void> {
    this.closed = true;
    await this.agent.destroy();
  }
}

const JSON_CONTENT = { "content-type": "application/json" };

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/** A payload's JSON object, or null when it is something else. */
function jsonObject(payload: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(payload.toString("utf8"));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The first `max` bytes of an answer's body as text; the rest is read and dropped chunk by chunk. A
 * body announced no longer than `max` (a branch's usual short JSON) is read whole in one go.
 */
async function readHead(res: Dispatcher.ResponseData, max: number): Promise<string> {
  const length = Number(res.headers["content-length"] ?? NaN);
  if (length <= max) return res.body.text();
  const body: AsyncIterable<Buffer> = res.body;
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size >= max) continue;
    const part = chunk.subarray(0, max - size);
    kept.push(part);
    size += part.length;
  }
  return Buffer.concat(kept).toString("utf8");
}
