import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { StatementHook } from "../../store/store";
import { coreTracer as tracer } from "../../core/trace-context";

/**
 * A store hook that records each statement (each one a commit of its own) as a client span of the
 * work that ran it: a request, a pass. Statements outside any trace (the clock sync, the metrics'
 * gauges) make no span.
 */
export const statementSpans: StatementHook = (e) => {
  const parent = context.active();
  if (!trace.getSpan(parent)) return;
  const end = Date.now();
  const span = tracer.startSpan(
    `store ${e.name}`,
    {
      kind: SpanKind.CLIENT,
      startTime: end - e.durationMs,
      attributes: { "db.system.name": "postgresql", "db.operation.name": e.name, "db.response.rows": e.rows },
    },
    parent,
  );
  if (e.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: String(e.error) });
  span.end(end);
};
