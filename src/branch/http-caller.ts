import { Agent } from "undici";
import type { BranchRequest, BranchResult } from "../core/branch-caller";
import { refusedHeader } from "./refused-header";
import { classifyHttp } from "./result";

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
      return classifyHttp(res.statusCode, await readHead(res.body, CLASSIFIED_BYTES));
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

/** The first `max` bytes of a body as text; the rest is read and dropped chunk by chunk. */
async function readHead(body: AsyncIterable<Buffer>, max: number): Promise<string> {
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
