import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Interceptor } from "@connectrpc/connect";
import type { Req, Res } from "../../api/http-io";
import { routeName } from "../../api/route-name";
import { coreTracer as tracer } from "../../core/trace-context";

/**
 * Runs every request in a server span that continues the caller's trace (`traceparent`/`tracestate`
 * headers, which gRPC clients send as metadata): named after the route once it is known
 * (`POST submit`, `POST submit` over gRPC too), with the response status; a 5xx is an error. The
 * engine's work for the request — the insert, the first pass, its branch calls — runs inside it.
 */
export function tracedHandler(
  rpcPaths: ReadonlySet<string>,
  handler: (req: Req, res: Res) => void,
): (req: Req, res: Res) => void {
  return (req, res) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const span = tracer.startSpan(
      `${req.method} ${path}`,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": req.method, "url.path": path } },
      parent,
    );
    res.once("close", () => {
      const route = rpcPaths.has(path) ? path.slice(path.lastIndexOf("/") + 1).toLowerCase() : routeName(req);
      span.updateName(`${req.method} ${route ?? "unknown"}`);
      if (route) span.setAttribute("http.route", route);
      span.setAttribute("http.response.status_code", res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), () => handler(req, res));
  };
}

/** Marks the request's span as an error when an RPC ends in one (gRPC answers HTTP 200 either way). */
export function tracedRpcErrors(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    }
  };
}
