/**
 * OpenTelemetry traces, with the SDK's in-memory exporter: a caller's traceparent → the submit's
 * server span → the pass → the branch calls as its children, whose traceparent reaches the branch over
 * HTTP and over gRPC; after a restart, the recovery pass of an unfinished saga joins the submitting trace.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { Writable } from "node:stream";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SpanKind } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type ReadableSpan,
} from "@opentelemetry/sdk-trace-node";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { App } from "../../src/server/app";
import { createLogger } from "../../src/server/logger";
import { BranchServices } from "../support/branch-services";
import { dropSchema, newSchemaName, TestCoordinator, testConfig } from "../support/coordinator";

jest.setTimeout(90_000);

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();

let rm: BranchServices;
let dtx: TestCoordinator;
const logLines: Array<Record<string, string>> = [];
const logSink = new Writable({
  write(chunk, _encoding, done) {
    for (const line of String(chunk).split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
    done();
  },
});

beforeAll(async () => {
  rm = await BranchServices.start();
  const logger = createLogger("info", logSink, "json");
  dtx = await TestCoordinator.start({}, newSchemaName(), { tracing: true, logger });
});
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
  await provider.shutdown();
});

/** A fresh W3C trace context of the "caller". */
function callerContext(): { traceId: string; spanId: string; traceparent: string } {
  const hex = (n: number): string =>
    Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join("");
  const traceId = hex(32);
  const spanId = hex(16);
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

/** Waits for a finished span matching `pick` (a server span ends once its response is closed). */
async function finished(pick: (s: ReadableSpan) => boolean): Promise<ReadableSpan> {
  for (let i = 0; i < 400; i++) {
    const span = exporter.getFinishedSpans().find(pick);
    if (span) return span;
    await sleep(25);
  }
  throw new Error("span not finished");
}

const inTrace = (traceId: string) => (s: ReadableSpan) => s.spanContext().traceId === traceId;
const parentOf = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

test("HTTP: the caller's trace → submit → pass → branch calls, whose traceparent the branch receives", async () => {
  const caller = callerContext();
  const gid = `trace-http-${caller.spanId}`;
  const res = await fetch(`${dtx.base}/api/dtmsvr/submit`, {
    method: "POST",
    headers: { "content-type": "application/json", traceparent: caller.traceparent },
    body: JSON.stringify({
      gid,
      trans_type: "saga",
      wait_result: true,
      steps: [
        { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
        { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
      ],
      payloads: ["{}", "{}"],
    }),
  });
  expect(res.status).toBe(200);

  const t = inTrace(caller.traceId);
  const server = await finished((s) => t(s) && s.kind === SpanKind.SERVER);
  expect(server.name).toBe("POST submit");
  expect(parentOf(server)).toBe(caller.spanId);
  const pass = await finished((s) => t(s) && s.name === "pass saga");
  expect(parentOf(pass)).toBe(server.spanContext().spanId);
  expect(pass.attributes["dtx.gid"]).toBe(gid);
  expect(pass.attributes["dtx.status.to"]).toBe("succeed");
  const branches = exporter
    .getFinishedSpans()
    .filter((s) => t(s) && s.kind === SpanKind.CLIENT && s.name === "branch action");
  expect(branches.map((b) => b.attributes["dtx.branch_id"]).sort()).toEqual(["01", "02"]);
  for (const b of branches) expect(parentOf(b)).toBe(pass.spanContext().spanId);
  const insert = await finished((s) => t(s) && s.name === "store insertTrans");
  expect(parentOf(insert)).toBe(server.spanContext().spanId);
  const write = await finished((s) => t(s) && s.name === "store savePass");
  expect(parentOf(write)).toBe(pass.spanContext().spanId);

  // the log line of the status change carries the trace's id
  const change = logLines.find((l) => l.gid === gid && l.to === "succeed");
  expect(change!.trace_id).toBe(caller.traceId);

  // each branch got the traceparent of its own call's span
  const calls = rm.calls().filter((c) => c.gid === gid);
  expect(calls).toHaveLength(2);
  for (const call of calls) {
    const span = branches.find((b) => b.attributes["dtx.branch_id"] === call.branchId)!;
    expect(call.headers.traceparent).toBe(`00-${caller.traceId}-${span.spanContext().spanId}-01`);
  }
});

test("gRPC: the caller's metadata continues the trace and the branch's metadata carries it on", async () => {
  const caller = callerContext();
  const gid = `trace-grpc-${caller.spanId}`;
  const client = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base }));
  await client.submit(
    {
      Gid: gid,
      TransType: "saga",
      Steps: JSON.stringify([{ action: rm.grpcUrl("TransOut"), compensate: rm.grpcUrl("TransOutRevert") }]),
      BinPayloads: [new Uint8Array()],
      TransOptions: { WaitResult: true },
    },
    { headers: { traceparent: caller.traceparent } },
  );

  const t = inTrace(caller.traceId);
  const server = await finished((s) => t(s) && s.kind === SpanKind.SERVER);
  expect(server.name).toBe("POST submit");
  expect(parentOf(server)).toBe(caller.spanId);
  const pass = await finished((s) => t(s) && s.name === "pass saga");
  expect(parentOf(pass)).toBe(server.spanContext().spanId);
  const branch = await finished((s) => t(s) && s.name === "branch action");
  expect(parentOf(branch)).toBe(pass.spanContext().spanId);
  const [call] = rm.calls().filter((c) => c.gid === gid);
  expect(call!.transport).toBe("grpc");
  expect(call!.headers.traceparent).toBe(`00-${caller.traceId}-${branch.spanContext().spanId}-01`);
});

test("after a restart, the recovery pass of an unfinished saga belongs to the submitting trace", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "dtx-traces-"));
  const config = testConfig({ store: { dataDir } }, newSchemaName());
  const logger = createLogger("silent");
  const caller = callerContext();
  const gid = `trace-restart-${caller.spanId}`;
  rm.script("TraceOut", "ERR"); // the first pass errs; the saga stays submitted
  let first: App | null = await App.start(config, { logger, tracing: true });
  let second: App | null = null;
  try {
    const res = await fetch(`http://127.0.0.1:${first.ports[0]}/api/dtmsvr/submit`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: caller.traceparent },
      body: JSON.stringify({
        gid,
        trans_type: "saga",
        steps: [{ action: rm.url("TraceOut"), compensate: rm.url("TransOutRevert") }],
        payloads: ["{}"],
      }),
    });
    expect(res.status).toBe(200);
    await first.engine.settled(gid);
    const t = inTrace(caller.traceId);
    const submit = await finished((s) => t(s) && s.kind === SpanKind.SERVER);
    await first.close();
    first = null;

    exporter.reset();
    second = await App.start(config, { logger, tracing: true });
    second.clock.advance(120_000);
    expect(await second.engine.recoverOnce(10)).toEqual([gid]);
    const pass = await finished((s) => s.name === "pass saga" && s.attributes["dtx.gid"] === gid);
    expect(pass.spanContext().traceId).toBe(caller.traceId);
    expect(parentOf(pass)).toBe(submit.spanContext().spanId);
    expect(pass.attributes["dtx.status.to"]).toBe("succeed");
    const calls = rm.calls().filter((c) => c.gid === gid);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.headers.traceparent).toMatch(new RegExp(`^00-${caller.traceId}-[0-9a-f]{16}-01$`));
  } finally {
    await first?.close();
    await second?.close();
    rmSync(dataDir, { recursive: true, force: true });
    await dropSchema(config.store.schema);
  }
});
