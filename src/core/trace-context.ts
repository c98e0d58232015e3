import { context, propagation, ROOT_CONTEXT, trace, type Context } from "@opentelemetry/api";

/** The tracer of the core's spans (passes); a no-op until an OpenTelemetry SDK is registered. */
export const coreTracer = trace.getTracer("dtx");

/**
 * The trace context a transaction keeps (W3C `traceparent` and `tracestate`, as JSON text): that of the
 * request that created it, so that a pass run later — after a retry interval, a restart, or on another
 * coordinator — joins the same trace. Without an OpenTelemetry SDK the API injects nothing and this is ''.
 */
export function currentTraceContext(): string {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? JSON.stringify(carrier) : "";
}

/**
 * The context a pass runs in: the active one when a request is being served (a submit's first pass),
 * else the transaction's stored one (a recovery pass), else none.
 */
export function passParentContext(stored: string): Context {
  const active = context.active();
  if (trace.getSpan(active) || stored === "") return active;
  try {
    return propagation.extract(ROOT_CONTEXT, JSON.parse(stored) as Record<string, string>);
  } catch {
    return active;
  }
}
