import type { BranchCaller, BranchRequest, BranchResult } from "../core/branch-caller";
import type { Protocol } from "../core/model";
import { isJsonRpcCall } from "../core/url-check";
import { GrpcCaller } from "./grpc-caller";
import { HttpCaller } from "./http-caller";

/**
 * The core's BranchCaller over the network. Picks the transport of a branch call: an empty URL
 * succeeds without a call; a URL naming a `method` in a `json-rpc` transaction is called as JSON-RPC;
 * an `http` or `json-rpc` transaction, or any `http(s)://` URL, goes over HTTP; everything else over
 * gRPC.
 */
export class TransportCaller implements BranchCaller {
  private readonly http = new HttpCaller();
  private readonly grpc = new GrpcCaller();

  /** Calls one branch operation; never throws. */
  call(protocol: Protocol, req: BranchRequest): Promise<BranchResult> {
    if (req.url === "") return Promise.resolve({ outcome: "SUCCESS", detail: "empty url" });
    if (isJsonRpcCall(protocol, req.url)) return this.http.callJsonRpc(req);
    if (protocol !== "grpc" || /^https?:\/\//.test(req.url)) return this.http.call(req);
    return this.grpc.call(req);
  }

  /** Closes every pool and channel. */
  async close(): Promise<void> {
    await Promise.all([this.http.close(), this.grpc.close()]);
  }
}
