import { Pool } from "undici";
import type { BranchRequest } from "./request";
import { classifyHttp, type BranchResult } from "./result";

/**
 * Calls HTTP branches: one keep-alive undici pool per origin, POST with the payload as body (GET
 * when it is empty), `gid`, `trans_type`, `branch_id`, `op` appended to the query.
 */
export class HttpCaller {
  private readonly pools = new Map<string, Pool>();

  /** Calls the branch; never throws (network errors and timeouts are ERROR results). */
  async call(req: BranchRequest): Promise<BranchResult> {
    try {
      const url = new URL(req.url);
      url.searchParams.set("gid", req.gid);
      url.searchParams.set("trans_type", req.transType);
      url.searchParams.set("branch_id", req.branchId);
      url.searchParams.set("op", req.op);
      const post = req.payload.length > 0 || req.forcePost === true;
      const res = await this.pool(url.origin).request({
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

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 64, keepAliveTimeout: 30_000 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes every pool; in-flight calls are aborted. */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.destroy()));
  }
}
