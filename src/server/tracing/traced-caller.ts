import { context, propagation, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import type { BranchCaller, BranchRequest, BranchResult } from "../../core/branch-caller";
import type { Protocol } from "../../core/model";
import { coreTracer as tracer } from "../../core/trace-context";

/**
 * Wraps the branch caller so that each branch call is a client span, child of the pass, whose
 * `traceparent` (and `tracestate`) go to the branch with the call: as HTTP headers, or as gRPC
 * metadata. An ERROR answer (network, timeout, 5xx) marks the span an error; FAILURE and ONGOING are
 * answers, not errors.
 */
export function tracedCaller(caller: BranchCaller): BranchCaller {
  return {
    call(protocol: Protocol, req: BranchRequest): Promise<BranchResult> {
      if (req.url === "") return caller.call(protocol, req);
      const attributes = {
        "dtx.gid": req.gid,
        "dtx.kind": req.transType,
        "dtx.branch_id": req.branchId,
        "dtx.op": req.op,
        "url.full": req.url,
        "dtx.protocol": protocol,
      };
      return tracer.startActiveSpan(
        `branch ${req.op}`,
        { kind: SpanKind.CLIENT, attributes },
        async (span) => {
          const headers = { ...req.headers };
          propagation.inject(context.active(), headers);
          try {
            const result = await caller.call(protocol, { ...req, headers });
            span.setAttribute("dtx.outcome", result.outcome);
            if (result.code) span.setAttribute("dtx.answer_code", result.code);
            if (result.outcome === "ERROR") {
              span.setStatus({ code: SpanStatusCode.ERROR, message: result.detail.slice(0, 512) });
            }
            return result;
          } finally {
            span.end();
          }
        },
      );
    },
  };
}
