import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import type { BranchRequest, BranchResult } from "../core/branch-caller";
import { refusedHeader } from "./refused-header";
import { classifyGrpc } from "./result";

const identity = (b: Buffer): Buffer => b;

/** Open channels kept at most (one per branch target). */
const MAX_CHANNELS = 256;

/** Splits `host:port/pkg.Service/Method` at the first `/` into a dial target and a method path. */
export function parseGrpcUrl(url: string): { target: string; method: string } | null {
  if (url.includes("://")) return null;
  const slash = url.indexOf("/");
  if (slash <= 0 || slash === url.length - 1) return null;
  return { target: url.slice(0, slash), method: url.slice(slash) };
}

/**
 * Calls gRPC branches: the payload bytes go out as the request message unchanged (the application
 * encoded them), the reply is discarded; `dtm-*` metadata and `branch_headers` go along. One
 * channel per target, round-robin over resolved addresses.
 */
export class GrpcCaller {
  private readonly clients = new Map<string, Client>();
  private closed = false;

  /** Calls the branch; never throws. */
  async call(req: BranchRequest): Promise<BranchResult> {
    if (this.closed) return { outcome: "ERROR", detail: "the coordinator is stopping" };
    const refused = refusedHeader(req, "grpc");
    if (refused) return refused;
    try {
      return await this.unary(req);
    } catch (err) {
      return { outcome: "ERROR", detail: `grpc call ${req.url} failed: ${(err as Error).message}` };
    }
  }

  private unary(req: BranchRequest): Promise<BranchResult> {
    const parsed = parseGrpcUrl(req.url);
    if (!parsed) {
      return Promise.resolve({ outcome: "ERROR", detail: `bad grpc branch url ${JSON.stringify(req.url)}` });
    }
    const md = new Metadata();
    md.set("dtm-gid", req.gid);
    md.set("dtm-trans_type", req.transType);
    md.set("dtm-branch_id", req.branchId);
    md.set("dtm-op", req.op);
    md.set("dtm-dtm", "");
    for (const [k, v] of Object.entries(req.headers)) md.set(k.toLowerCase(), v);
    const client = this.client(parsed.target);
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        parsed.method,
        identity,
        identity,
        req.payload,
        md,
        { deadline: Date.now() + req.timeoutMs },
        (err: ServiceError | null) => {
          resolve(err ? classifyGrpc(err.code, err.details ?? err.message) : classifyGrpc(0, ""));
        },
      );
    });
  }

  /** The channel of a target, most recently used last; beyond MAX_CHANNELS the least recent is closed. */
  private client(target: string): Client {
    let c = this.clients.get(target);
    if (c) {
      this.clients.delete(target);
    } else {
      c = new Client(target, credentials.createInsecure(), {
        "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      });
    }
    this.clients.set(target, c);
    if (this.clients.size > MAX_CHANNELS) {
      // branch URLs come from requests: keep the number of open channels bounded
      const [oldest, channel] = this.clients.entries().next().value as [string, Client];
      this.clients.delete(oldest);
      channel.close(); // calls in flight on it finish first
    }
    return c;
  }

  /** Refuses new calls and closes every channel. */
  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}
