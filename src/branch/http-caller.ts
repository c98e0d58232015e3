import { Agent } from "undici";
import type { BranchRequest, BranchResult } from "../core/branch-caller";
import { refusedHeader } from "./refused-header";
import { classifyHttp } from "./result";

/**
 * Calls HTTP branches through one keep-alive undici Agent (a bounded pool per origin, idle
 * connections closed after `keepAliveTimeout`): POST with the payload as body (GET when it is
 * empty), `gid`, `trans_type`, `branch_id`, `op` appended to the query.
 */
export class HttpCaller {
  private readonly agent = new Agent({ connections: 64, keepAliveTimeout: 30_000 });
  private closed = false;

  /** Calls the branch; never throws (network errors and timeouts are ERROR results). */
  async call(req: BranchRequest): Promise<BranchResult> {
    if (this.closed) return { outcome: "ERROR", detail: "the coordinator is stopping" };
    const refused = refusedHeader(req, "http");
    if (refused) return refused;
    try {
      const url = new URL(req.url);
      url.searchParams.set("gid", req.gid);
      url.searchParams.set("trans_type", req.transType);
      url.searchParams.set("branch_id", req.branchId);
      url.searchParams.set("op", req.op);
      const post = req.payload.length > 0 || req.forcePost === true;
      const res = await this.agent.request({
        origin: url.origin,
        method: post ? "POST" : "GET",
        path: url.pathname + url.search,
        headers: { "content-type": "application/json", ...req.headers },
        body: post ? req.payload : undefined,
        headersTimeout: req.timeoutMs,
        bodyTimeout: req.timeoutMs,
        signal: AbortSignal.timeout(req.timeoutMs),
      });
      const body = await res.body.text();
      return classifyHttp(res.statusCode, body);
    } catch (err) {
      return { outcome: "ERROR", detail: `http call ${req.url} failed: ${(err as Error).message}` };
    }
  }

  /** Refuses new calls and closes every connection; in-flight calls end as errors. */
  async close(): Promise<void> {
    this.closed = true;
    await this.agent.destroy();
  }
}
