import type { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";

/** Where traces go: the OTLP endpoint and the service's name. */
export interface TracingSettings {
  /** The OTLP/HTTP base URL (`http://collector:4318`); spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
}

let started: NodeTracerProvider | null = null;

/**
 * Starts the OpenTelemetry SDK once per process: a tracer provider exporting batches of spans over
 * OTLP/HTTP, registered as the API's global provider with the async-local context manager and the W3C
 * propagators. Later calls (a second coordinator in one process) reuse it. The SDK's modules are
 * loaded only here: a coordinator without an endpoint never loads them.
 */
export async function startTracing(settings: TracingSettings): Promise<void> {
  if (started) return;
  const [{ OTLPTraceExporter }, { resourceFromAttributes }, { BatchSpanProcessor, NodeTracerProvider }] =
    await Promise.all([
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/sdk-trace-node"),
    ]);
  if (started) return;
  const exporter = new OTLPTraceExporter({ url: `${settings.endpoint.replace(/\/+$/, "")}/v1/traces` });
  started = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": settings.serviceName }),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  started.register();
}

/** Sends the spans still buffered (a stopping coordinator). */
export async function flushTracing(): Promise<void> {
  await started?.forceFlush();
}
