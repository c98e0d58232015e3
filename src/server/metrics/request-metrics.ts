import type { Interceptor } from "@connectrpc/connect";
import type { Req, Res } from "../../api/http-io";
import { routeName } from "../../api/route-name";
import type { DtxMetrics } from "./dtx-metrics";

/** dtm's `api` label of a request no route took (a 404): one value, whatever the path. */
const UNKNOWN_ROUTE = "unknown";

/**
 * Records dtm's API metrics (`dtm_server_process_total`, `dtm_server_response_duration`) of the
 * requests that are not RPCs — dtm's HTTP routes, JSON-RPC, the REST gateway, `/api/metrics` — once each,
 * when the response is done: `api` is the name the router gave the request, `status` fail for an HTTP
 * status ≥ 400 (dtm's rule). RPCs to `rpcPaths` are left to {@link rpcMetrics}, which sees their status.
 */
export function meteredHandler(
  metrics: DtxMetrics,
  rpcPaths: ReadonlySet<string>,
  handler: (req: Req, res: Res) => void,
): (req: Req, res: Res) => void {
  return (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    if (rpcPaths.has(q < 0 ? url : url.slice(0, q))) return handler(req, res);
    const started = performance.now();
    res.once("close", () => {
      const api = routeName(req) ?? UNKNOWN_ROUTE;
      const status = res.statusCode < 400 ? "ok" : "fail";
      metrics.serverProcess.inc({ type: "http", api, status });
      metrics.serverDuration.observe({ type: "http", api }, (performance.now() - started) / 1000);
    });
    handler(req, res);
  };
}

/**
 * The same metrics for gRPC, gRPC-Web and Connect calls, as an interceptor of the server's RPC handler
 * (not of the REST gateway's in-process calls, which `meteredHandler` counts as HTTP requests): `api`
 * is the method's name lower-cased (dtm's label: the last path segment), `type` grpc for gRPC, else
 * http, `status` fail when the call ends in an error.
 */
export function rpcMetrics(metrics: DtxMetrics): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const type = isGrpc(req.header.get("content-type")) ? "grpc" : "http";
    const api = req.method.name.toLowerCase();
    let status = "fail";
    try {
      const res = await next(req);
      status = "ok";
      return res;
    } finally {
      metrics.serverProcess.inc({ type, api, status });
      metrics.serverDuration.observe({ type, api }, (performance.now() - started) / 1000);
    }
  };
}

function isGrpc(contentType: string | null): boolean {
  return (
    contentType !== null &&
    contentType.startsWith("application/grpc") &&
    !contentType.startsWith("application/grpc-web")
  );
}
