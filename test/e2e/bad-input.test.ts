/**
 * Bad input, end to end: every malformed request gets a clear error that names the offending field,
 * and nothing is written (no transaction row, no branch call). Covers dtm's HTTP submit route, dtm's
 * gRPC Submit and the native API (gRPC, Connect and REST).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Readable } from "node:stream";
import { Client as HttpClient } from "undici";
import { Dtm, type DtmRequestSchema } from "../../gen/dtmgimp/dtmgimp_pb";
import {
  CoordinatorService,
  type ListTransactionsRequestSchema,
  type SubmitSagaRequestSchema,
} from "../../gen/dtx/v1/coordinator_pb";
import { TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { failureOf } from "../support/failure-of";

const MAX_BODY = 4096;

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;
let dtmGrpc: Client<typeof Dtm>;
let native: Client<typeof CoordinatorService>;
let nativeJson: Client<typeof CoordinatorService>;

beforeAll(async () => {
  dtx = await TestCoordinator.start({ server: { maxBodyBytes: MAX_BODY } });
  rm = await BranchServices.start();
  sessions = new Http2SessionManager(dtx.base);
  const grpc = createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions });
  dtmGrpc = createClient(Dtm, grpc);
  native = createClient(CoordinatorService, grpc);
  nativeJson = createClient(
    CoordinatorService,
    createConnectTransport({ baseUrl: dtx.base, httpVersion: "1.1" }),
  );
});
afterAll(async () => {
  sessions?.abort();
  await rm?.close();
  await dtx?.close();
}, 20_000);
beforeEach(async () => {
  await dtx.settled(); // a case the coordinator wrongly accepted must not leak calls into the next
  rm.clearCalls();
});

/** Every transaction row the coordinator has (dtm's listing). */
async function rowCount(): Promise<number> {
  const { status, body } = await dtx.get("/api/dtmsvr/all?limit=1000");
  expect(status).toBe(200);
  return body.transactions.length;
}

/** Runs `act` and checks that it wrote no row (none for `gid` in particular) and called no branch. */
async function writesNothing<T>(gid: string | undefined, act: () => Promise<T>): Promise<T> {
  const before = await rowCount();
  const out = await act();
  expect(await rowCount()).toBe(before);
  if (typeof gid === "string" && gid !== "") expect((await dtx.query(gid)).transaction).toBeNull();
  expect(rm.calls()).toEqual([]);
  return out;
}

/** Whether an error text names the field (by any of its spellings, ignoring case and underscores). */
function namesField(message: string, ...names: string[]): boolean {
  const norm = (s: string) => s.toLowerCase().replace(/_/g, "");
  return names.some((n) => norm(message).includes(norm(n)));
}

/**
 * POSTs raw bytes on a connection of its own (closed afterwards), so a connection a refused upload
 * leaves in a bad state cannot stall the requests of other tests.
 */
async function rawPost(path: string, body: string | AsyncIterable<Buffer>) {
  const client = new HttpClient(dtx.base);
  try {
    return await postOn(client, path, body);
  } finally {
    await client.destroy();
  }
}

async function postOn(client: HttpClient, path: string, body: string | AsyncIterable<Buffer>) {
  const res = await client.request({
    path,
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : Readable.from(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, body: safeJson(text) };
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function steps() {
  return [
    { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
    { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
  ];
}

/** A valid dtm submit body; each case below breaks exactly one thing. */
function dtmBody(gid: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { gid, trans_type: "saga", steps: steps(), payloads: ['{"a":1}', '{"a":2}'], ...over };
}

function without(o: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...o };
  delete copy[key];
  return copy;
}

describe("dtm HTTP POST /api/dtmsvr/submit", () => {
  const cases: Array<{ name: string; gid?: string; body: () => unknown; field: string }> = [
    { name: "malformed JSON", body: () => '{"gid":"bad-json",', field: "body" },
    { name: "an empty body", body: () => "", field: "body" },
    { name: "a JSON array", body: () => "[1,2]", field: "body" },
    { name: "a JSON string", body: () => '"saga"', field: "body" },
    { name: "JSON null", body: () => "null", field: "body" },
    { name: "gid a number", body: () => dtmBody("", { gid: 5 }), field: "gid" },
    { name: "missing gid", body: () => without(dtmBody(""), "gid"), field: "gid" },
    { name: "empty gid", body: () => dtmBody(""), field: "gid" },
    {
      name: "a gid over the length limit",
      gid: "g".repeat(129),
      body: () => dtmBody("g".repeat(129)),
      field: "gid",
    },
    { name: "a newline in the gid", gid: "a\nb", body: () => dtmBody("a\nb"), field: "gid" },
    { name: "a \\u0001 in the gid", gid: "a\u0001b", body: () => dtmBody("a\u0001b"), field: "gid" },
    { name: "a DEL in the gid", gid: "a\u007fb", body: () => dtmBody("a\u007fb"), field: "gid" },
    {
      name: "missing trans_type",
      gid: "b-tt1",
      body: () => without(dtmBody("b-tt1"), "trans_type"),
      field: "trans_type",
    },
    {
      name: "unknown trans_type",
      gid: "b-tt2",
      body: () => dtmBody("b-tt2", { trans_type: "sagaa" }),
      field: "trans_type",
    },
    {
      name: "trans_type a number",
      gid: "b-tt3",
      body: () => dtmBody("b-tt3", { trans_type: 1 }),
      field: "trans_type",
    },
    {
      name: "unknown protocol",
      gid: "b-pr",
      body: () => dtmBody("b-pr", { protocol: "ftp" }),
      field: "protocol",
    },
    { name: 'steps: "x"', gid: "b-st1", body: () => dtmBody("b-st1", { steps: "x" }), field: "steps" },
    { name: "missing steps", gid: "b-st2", body: () => without(dtmBody("b-st2"), "steps"), field: "steps" },
    {
      name: "empty steps",
      gid: "b-st3",
      body: () => dtmBody("b-st3", { steps: [], payloads: [] }),
      field: "steps",
    },
    {
      name: "a step that is not an object",
      gid: "b-st4",
      body: () => dtmBody("b-st4", { steps: ["x", "y"] }),
      field: "steps[0]",
    },
    {
      name: "a step URL that is not a string",
      gid: "b-st5",
      body: () => dtmBody("b-st5", { steps: [steps()[0], { action: 1, compensate: "" }] }),
      field: "steps[1].action",
    },
    {
      name: "a non-http action URL",
      gid: "b-url1",
      body: () => dtmBody("b-url1", { steps: [{ action: "ftp://h/x", compensate: "" }, steps()[1]] }),
      field: "steps[0].action",
    },
    {
      name: "a non-http compensate URL",
      gid: "b-url2",
      body: () =>
        dtmBody("b-url2", {
          steps: [steps()[0], { action: rm.url("TransIn"), compensate: "file:///etc/passwd" }],
        }),
      field: "steps[1].compensate",
    },
    {
      name: "a relative step URL",
      gid: "b-url3",
      body: () =>
        dtmBody("b-url3", { steps: [{ action: "/api/busi/TransOut", compensate: "" }, steps()[1]] }),
      field: "steps[0].action",
    },
    {
      name: "a malformed http URL",
      gid: "b-url4",
      body: () => dtmBody("b-url4", { steps: [{ action: "http://[::1", compensate: "" }, steps()[1]] }),
      field: "steps[0].action",
    },
    {
      name: "payloads: [1]",
      gid: "b-pl1",
      body: () => dtmBody("b-pl1", { payloads: [1, "x"] }),
      field: "payloads[0]",
    },
    {
      name: "payloads not an array",
      gid: "b-pl2",
      body: () => dtmBody("b-pl2", { payloads: "x" }),
      field: "payloads",
    },
    {
      name: "fewer payloads than steps",
      gid: "b-pl3",
      body: () => dtmBody("b-pl3", { payloads: ["x"] }),
      field: "payloads",
    },
    {
      name: "more payloads than steps",
      gid: "b-pl4",
      body: () => dtmBody("b-pl4", { payloads: ["x", "y", "z"] }),
      field: "payloads",
    },
    {
      name: "no payloads",
      gid: "b-pl5",
      body: () => without(dtmBody("b-pl5"), "payloads"),
      field: "payloads",
    },
    {
      name: 'wait_result: "yes"',
      gid: "b-wr",
      body: () => dtmBody("b-wr", { wait_result: "yes" }),
      field: "wait_result",
    },
    {
      name: "timeout_to_fail: -1",
      gid: "b-to1",
      body: () => dtmBody("b-to1", { timeout_to_fail: -1 }),
      field: "timeout_to_fail",
    },
    {
      name: "timeout_to_fail: 1.5",
      gid: "b-to2",
      body: () => dtmBody("b-to2", { timeout_to_fail: 1.5 }),
      field: "timeout_to_fail",
    },
    {
      name: 'timeout_to_fail: "60"',
      gid: "b-to3",
      body: () => dtmBody("b-to3", { timeout_to_fail: "60" }),
      field: "timeout_to_fail",
    },
    {
      name: "request_timeout: -3",
      gid: "b-rt",
      body: () => dtmBody("b-rt", { request_timeout: -3 }),
      field: "request_timeout",
    },
    {
      name: "retry_interval: -10",
      gid: "b-ri",
      body: () => dtmBody("b-ri", { retry_interval: -10 }),
      field: "retry_interval",
    },
    {
      name: "retry_limit: -1",
      gid: "b-rl",
      body: () => dtmBody("b-rl", { retry_limit: -1 }),
      field: "retry_limit",
    },
    {
      name: 'branch_headers: {"a": 1}',
      gid: "b-bh1",
      body: () => dtmBody("b-bh1", { branch_headers: { a: 1 } }),
      field: "branch_headers",
    },
    {
      name: "branch_headers an array",
      gid: "b-bh2",
      body: () => dtmBody("b-bh2", { branch_headers: ["a"] }),
      field: "branch_headers",
    },
    {
      name: "a branch header name with a space",
      gid: "b-bh3",
      body: () => dtmBody("b-bh3", { branch_headers: { "a b": "x" } }),
      field: "branch_headers",
    },
    {
      name: "a branch header value with CRLF (header injection)",
      gid: "b-bh4",
      body: () => dtmBody("b-bh4", { branch_headers: { a: "x\r\ninjected: y" } }),
      field: "branch_headers",
    },
    {
      name: "custom_data not a string",
      gid: "b-cd0",
      body: () => dtmBody("b-cd0", { custom_data: { concurrent: true } }),
      field: "custom_data",
    },
    {
      name: "custom_data not JSON",
      gid: "b-cd1",
      body: () => dtmBody("b-cd1", { custom_data: "{concurrent" }),
      field: "custom_data",
    },
    {
      name: "custom_data a JSON array",
      gid: "b-cd2",
      body: () => dtmBody("b-cd2", { custom_data: "[1]" }),
      field: "custom_data",
    },
    {
      name: "custom_data.concurrent not a boolean",
      gid: "b-cd3",
      body: () => dtmBody("b-cd3", { custom_data: '{"concurrent":"yes"}' }),
      field: "custom_data.concurrent",
    },
    {
      name: "orders: a step index out of range",
      gid: "b-cd4",
      body: () => dtmBody("b-cd4", { custom_data: '{"concurrent":true,"orders":{"5":[0]}}' }),
      field: "custom_data.orders",
    },
    {
      name: "orders: a prerequisite out of range",
      gid: "b-cd5",
      body: () => dtmBody("b-cd5", { custom_data: '{"concurrent":true,"orders":{"1":[2]}}' }),
      field: "custom_data.orders",
    },
    {
      name: "orders: a negative step index",
      gid: "b-cd6",
      body: () => dtmBody("b-cd6", { custom_data: '{"concurrent":true,"orders":{"-1":[0]}}' }),
      field: "custom_data.orders",
    },
    {
      name: "orders: not an object",
      gid: "b-cd7",
      body: () => dtmBody("b-cd7", { custom_data: '{"concurrent":true,"orders":[[0]]}' }),
      field: "custom_data.orders",
    },
    {
      name: "orders: a cycle",
      gid: "b-cd8",
      body: () => dtmBody("b-cd8", { custom_data: '{"concurrent":true,"orders":{"0":[1],"1":[0]}}' }),
      field: "custom_data.orders",
    },
    {
      name: "orders: a step that waits for itself",
      gid: "b-cd9",
      body: () => dtmBody("b-cd9", { custom_data: '{"concurrent":true,"orders":{"1":[1]}}' }),
      field: "custom_data.orders",
    },
  ];

  test.each(cases)("$name → 400 naming $field", async ({ gid, body, field }) => {
    const res = await writesNothing(gid, () => dtx.post("/api/dtmsvr/submit", body()).catch(() => null));
    expect(res).not.toBeNull();
    expect(res!.status).toBe(400);
    expect(res!.body).toEqual({ dtm_result: "FAILURE", message: expect.any(String) });
    expect(res!.body.message).toContain(field);
  });

  test("the valid body the cases derive from is accepted", async () => {
    const res = await dtx.post("/api/dtmsvr/submit", dtmBody("b-valid", { wait_result: true }));
    expect(res).toEqual({ status: 200, body: { dtm_result: "SUCCESS" } });
    expect(await dtx.status("b-valid")).toBe("succeed");
  });

  test("a body over server.maxBodyBytes → 413 naming the body, declared or chunked", async () => {
    const big = JSON.stringify(dtmBody("b-big", { payloads: ["x".repeat(MAX_BODY), "y"] }));
    expect(Buffer.byteLength(big)).toBeGreaterThan(MAX_BODY);
    for (const body of [big, chunks(big)]) {
      const res = await writesNothing("b-big", () => rawPost("/api/dtmsvr/submit", body));
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ dtm_result: "FAILURE", message: expect.stringContaining("body") });
      expect(res.body.message).toContain(String(MAX_BODY));
    }
  });

  test.each([
    { route: "/api/dtmsvr/submit", refused: 413 },
    { route: "/v1/sagas", refused: 413 },
  ])(
    "$route: after a large chunked upload is refused ($refused), the connection serves the next request",
    async ({ route, refused }) => {
      // 2 MiB in 64 KiB chunks, no Content-Length: more than the socket buffers hold.
      const huge = JSON.stringify({ gid: "b-huge", pad: "x".repeat(2 * 1024 * 1024) });
      const client = new HttpClient(dtx.base, { headersTimeout: 3000, bodyTimeout: 3000 });
      try {
        const first = await writesNothing("b-huge", () => postOn(client, route, chunks(huge)));
        expect(first.status).toBe(refused);
        expect(first.body.message).toContain("body");
        const next = await client
          .request({ path: "/api/ping", method: "GET" })
          .then(async (r) => ({ status: r.statusCode, body: await r.body.text() }))
          .catch((err: Error) => ({ error: `${err.name}: ${err.message}` }));
        expect(next).toEqual({ status: 200, body: '{"msg":"pong"}' });
      } finally {
        await client.destroy();
      }
    },
  );
});

async function* chunks(text: string): AsyncIterable<Buffer> {
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += 64 * 1024) yield buf.subarray(i, i + 64 * 1024);
}

describe("dtm gRPC dtmgimp.Dtm/Submit", () => {
  type Init = MessageInitShape<typeof DtmRequestSchema>;
  const valid = (gid: string, over: Record<string, unknown> = {}): Init =>
    ({
      Gid: gid,
      TransType: "saga",
      Steps: JSON.stringify(steps()),
      BinPayloads: [Buffer.from('{"a":1}'), Buffer.from([0, 255])],
      ...over,
    }) as Init;
  const cases: Array<{ name: string; gid?: string; req: () => Init; fields: string[] }> = [
    { name: "an empty request", req: () => ({}), fields: ["Gid"] },
    { name: "only Gid set", gid: "gb-only", req: () => ({ Gid: "gb-only" }), fields: ["TransType"] },
    { name: "a newline in Gid", gid: "a\nb", req: () => valid("a\nb"), fields: ["Gid"] },
    {
      name: "a gid over the length limit",
      gid: "g".repeat(200),
      req: () => valid("g".repeat(200)),
      fields: ["Gid"],
    },
    {
      name: "unknown TransType",
      gid: "gb-tt",
      req: () => valid("gb-tt", { TransType: "sagaa" }),
      fields: ["TransType"],
    },
    { name: "Steps not JSON", gid: "gb-st1", req: () => valid("gb-st1", { Steps: "[{" }), fields: ["Steps"] },
    {
      name: "Steps not an array",
      gid: "gb-st2",
      req: () => valid("gb-st2", { Steps: '"x"' }),
      fields: ["Steps"],
    },
    {
      name: "Steps empty",
      gid: "gb-st3",
      req: () => valid("gb-st3", { Steps: "", BinPayloads: [] }),
      fields: ["Steps"],
    },
    {
      name: "a step URL that is not a string",
      gid: "gb-st4",
      req: () => valid("gb-st4", { Steps: '[{"action":1,"compensate":""},{"action":"","compensate":""}]' }),
      fields: ["steps[0].action"],
    },
    {
      name: "a step URL neither http nor host:port/Service/Method",
      gid: "gb-st5",
      req: () =>
        valid("gb-st5", { Steps: JSON.stringify([{ action: "ftp://x", compensate: "" }, steps()[1]]) }),
      fields: ["steps[0].action"],
    },
    {
      name: "no BinPayloads",
      gid: "gb-pl1",
      req: () => valid("gb-pl1", { BinPayloads: [] }),
      fields: ["BinPayloads", "payloads"],
    },
    {
      name: "BinPayloads count ≠ step count",
      gid: "gb-pl2",
      req: () => valid("gb-pl2", { BinPayloads: [new Uint8Array(1), new Uint8Array(1), new Uint8Array(1)] }),
      fields: ["BinPayloads", "payloads"],
    },
    {
      name: "CustomedData not JSON",
      gid: "gb-cd1",
      req: () => valid("gb-cd1", { CustomedData: "{" }),
      fields: ["CustomedData", "custom_data"],
    },
    {
      name: "CustomedData with cyclic orders",
      gid: "gb-cd2",
      req: () => valid("gb-cd2", { CustomedData: '{"concurrent":true,"orders":{"0":[1],"1":[0]}}' }),
      fields: ["orders"],
    },
    {
      name: "a negative TimeoutToFail",
      gid: "gb-to",
      req: () => valid("gb-to", { TransOptions: { TimeoutToFail: -1n } }),
      fields: ["TimeoutToFail"],
    },
    {
      name: "a negative RetryInterval",
      gid: "gb-ri",
      req: () => valid("gb-ri", { TransOptions: { RetryInterval: -1n } }),
      fields: ["RetryInterval"],
    },
    {
      name: "a branch header name with a space",
      gid: "gb-bh",
      req: () => valid("gb-bh", { TransOptions: { BranchHeaders: { "a b": "x" } } }),
      fields: ["BranchHeaders"],
    },
  ];

  test.each(cases)("$name → INVALID_ARGUMENT naming $fields", async ({ gid, req, fields }) => {
    const err = await writesNothing(gid, () => failureOf(dtmGrpc.submit(req())));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(namesField(err.rawMessage, ...fields)).toBe(true);
  });

  test("the valid request the cases derive from is accepted", async () => {
    await dtmGrpc.submit(valid("gb-valid", { TransOptions: { WaitResult: true } }));
    expect(await dtx.status("gb-valid")).toBe("succeed");
    expect((await dtx.query("gb-valid")).transaction.protocol).toBe("grpc");
  });
});

describe("native API", () => {
  /** A plain request object (cases may hold values the generated types rule out, such as enum 7). */
  type Plain = {
    gid: string;
    saga?: Record<string, unknown>;
    options?: Record<string, unknown>;
    protocol?: number;
  };
  const init = (p: Plain) => p as MessageInitShape<typeof SubmitSagaRequestSchema>;
  const sagaSteps = () => steps().map((s, i) => ({ ...s, payload: Buffer.from(`p${i}`) }));
  const valid = (gid: string): Plain => ({ gid, saga: { steps: sagaSteps() } });
  const withOptions = (gid: string, options: Plain["options"]): Plain => ({ ...valid(gid), options });
  const cases: Array<{ name: string; gid?: string; req: () => Plain; field: string }> = [
    { name: "missing saga", gid: "nb-saga", req: () => ({ gid: "nb-saga" }), field: "saga" },
    {
      name: "a saga without steps",
      gid: "nb-steps",
      req: () => ({ gid: "nb-steps", saga: {} }),
      field: "steps",
    },
    { name: "a control character in the gid", gid: "a\u0001b", req: () => valid("a\u0001b"), field: "gid" },
    {
      name: "a gid over the length limit",
      gid: "n".repeat(129),
      req: () => valid("n".repeat(129)),
      field: "gid",
    },
    {
      name: "a non-http action URL",
      gid: "nb-url1",
      req: () => ({ gid: "nb-url1", saga: { steps: [{ action: "ftp://x/y", compensate: "" }] } }),
      field: "steps[0].action",
    },
    {
      name: "a non-http compensate URL",
      gid: "nb-url2",
      req: () => ({
        gid: "nb-url2",
        saga: { steps: [{ action: rm.url("TransOut"), compensate: "mailto:x" }] },
      }),
      field: "steps[0].compensate",
    },
    {
      name: "a gRPC-style URL without PROTOCOL_GRPC",
      gid: "nb-url3",
      req: () => ({ gid: "nb-url3", saga: { steps: [{ action: rm.grpcUrl("TransOut") }] } }),
      field: "steps[0].action",
    },
    {
      name: "a negative timeout_to_fail",
      gid: "nb-d1",
      req: () => withOptions("nb-d1", { timeoutToFail: { seconds: -1n } }),
      field: "timeout_to_fail",
    },
    {
      name: "a negative request_timeout",
      gid: "nb-d2",
      req: () => withOptions("nb-d2", { requestTimeout: { nanos: -1_000_000 } }),
      field: "request_timeout",
    },
    {
      name: "a negative retry_interval",
      gid: "nb-d3",
      req: () => withOptions("nb-d3", { retryInterval: { seconds: -5n } }),
      field: "retry_interval",
    },
    {
      name: "a negative retry_limit",
      gid: "nb-rl",
      req: () => withOptions("nb-rl", { retryLimit: -1n }),
      field: "retry_limit",
    },
    {
      name: "orders: a step index out of range",
      gid: "nb-o1",
      req: () => ({
        ...valid("nb-o1"),
        saga: { steps: sagaSteps(), concurrent: true, orders: { 7: { steps: [0] } } },
      }),
      field: "orders",
    },
    {
      name: "orders: a prerequisite out of range",
      gid: "nb-o2",
      req: () => ({
        ...valid("nb-o2"),
        saga: { steps: sagaSteps(), concurrent: true, orders: { 1: { steps: [-1] } } },
      }),
      field: "orders",
    },
    {
      name: "orders: a cycle",
      gid: "nb-o3",
      req: () => ({
        ...valid("nb-o3"),
        saga: { steps: sagaSteps(), concurrent: true, orders: { 0: { steps: [1] }, 1: { steps: [0] } } },
      }),
      field: "orders",
    },
    {
      name: "a branch header name with a space",
      gid: "nb-bh1",
      req: () => withOptions("nb-bh1", { branchHeaders: { "a b": "x" } }),
      field: "branch_headers",
    },
    {
      name: "a branch header value with CRLF (header injection)",
      gid: "nb-bh2",
      req: () => withOptions("nb-bh2", { branchHeaders: { a: "x\r\ninjected: y" } }),
      field: "branch_headers",
    },
    {
      name: "an unknown protocol value",
      gid: "nb-pr",
      req: () => ({ ...valid("nb-pr"), protocol: 7 }),
      field: "protocol",
    },
  ];

  test.each(cases)("gRPC SubmitSaga: $name → INVALID_ARGUMENT naming $field", async ({ gid, req, field }) => {
    const err = await writesNothing(gid, () => failureOf(native.submitSaga(init(req()))));
    expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, expect.any(String)]);
    expect(err.rawMessage).toContain(field);
  });

  test("Connect JSON SubmitSaga: the same checks", async () => {
    const err = await writesNothing("nb-cj", () =>
      failureOf(nativeJson.submitSaga(init(withOptions("nb-cj", { timeoutToFail: { seconds: -60n } })))),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("timeout_to_fail");
  });

  test("gRPC: a request over server.maxBodyBytes is refused", async () => {
    const big = {
      gid: "nb-big",
      saga: { steps: [{ action: rm.url("TransOut"), payload: new Uint8Array(MAX_BODY * 2) }] },
    };
    const err = await writesNothing("nb-big", () => failureOf(native.submitSaga(big)));
    expect(err.code).toBe(Code.ResourceExhausted);
  });

  test("the valid request the cases derive from is accepted", async () => {
    const res = await native.submitSaga(init(withOptions("nb-valid", { waitResult: true })));
    expect(res.status).toBe(TransactionStatus.SUCCEED);
  });

  test.each([
    { req: { pageSize: -1 }, field: "page_size" },
    { req: { pageSize: 1_000_000 }, field: "page_size" },
    { req: { pageToken: "not-a-token" }, field: "page_token" },
    { req: { status: 42 }, field: "status" },
    { req: { kind: 42 }, field: "kind" },
  ])("ListTransactions $req → INVALID_ARGUMENT naming $field", async ({ req, field }) => {
    const res = await native
      .listTransactions(req as MessageInitShape<typeof ListTransactionsRequestSchema>)
      .then((r) => ({ answered: r.transactions.map((t) => t.gid) }))
      .catch((err: unknown) => ConnectError.from(err));
    expect(res).toBeInstanceOf(ConnectError);
    expect((res as ConnectError).code).toBe(Code.InvalidArgument);
    expect((res as ConnectError).rawMessage).toContain(field);
  });

  test("GetTransaction without a gid → INVALID_ARGUMENT naming gid", async () => {
    const err = await failureOf(native.getTransaction({ gid: "" }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("gid");
  });

  describe("REST", () => {
    const restCases: Array<{ name: string; gid?: string; body: () => string; field: string }> = [
      { name: "malformed JSON", body: () => '{"gid":"nr-json",', field: "JSON" },
      { name: "a JSON array", body: () => "[]", field: "JSON" },
      { name: "missing saga", gid: "nr-saga", body: () => JSON.stringify({ gid: "nr-saga" }), field: "saga" },
      {
        name: "a bad step URL",
        gid: "nr-url",
        body: () => JSON.stringify({ gid: "nr-url", saga: { steps: [{ action: "ftp://x/y" }] } }),
        field: "steps[0].action",
      },
      {
        name: "a negative duration",
        gid: "nr-neg",
        body: () => JSON.stringify({ ...restSaga("nr-neg"), options: { timeoutToFail: "-60s" } }),
        field: "timeout_to_fail",
      },
      {
        name: "a duration that is not one",
        gid: "nr-dur",
        body: () => JSON.stringify({ ...restSaga("nr-dur"), options: { timeoutToFail: "60" } }),
        field: "options.timeoutToFail: ",
      },
      {
        name: "an unknown top-level field",
        gid: "nr-unk1",
        body: () => JSON.stringify({ ...restSaga("nr-unk1"), sagaa: {} }),
        field: "sagaa",
      },
      {
        name: "an unknown option",
        gid: "nr-unk2",
        body: () => JSON.stringify({ ...restSaga("nr-unk2"), options: { waitResults: true } }),
        field: "options.waitResults: ",
      },
      {
        name: "a wrong type",
        gid: "nr-type",
        body: () => JSON.stringify({ ...restSaga("nr-type"), options: { waitResult: "yes" } }),
        field: "options.waitResult: ",
      },
      {
        name: "a payload that is not base64",
        gid: "nr-b64",
        body: () =>
          JSON.stringify({
            gid: "nr-b64",
            saga: { steps: [{ action: rm.url("TransOut"), payload: "%%%" }] },
          }),
        field: "saga.steps[0].payload: ",
      },
      {
        name: "an unknown protocol name",
        gid: "nr-proto",
        body: () => JSON.stringify({ ...restSaga("nr-proto"), protocol: "PROTOCOL_FTP" }),
        field: "protocol: ",
      },
      {
        name: "a control character in the gid",
        gid: "a\u0001b",
        body: () => JSON.stringify(restSaga("a\u0001b")),
        field: "gid",
      },
      {
        name: "a step URL that is a number",
        gid: "nr-num",
        body: () =>
          JSON.stringify({ gid: "nr-num", saga: { steps: [{ action: rm.url("TransOut") }, { action: 5 }] } }),
        field: "saga.steps[1].action: ",
      },
    ];

    test.each(restCases)("POST /v1/sagas: $name → 400 naming $field", async ({ gid, body, field }) => {
      const res = await writesNothing(gid, () => rawPost("/v1/sagas", body()));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: Code.InvalidArgument, message: expect.any(String) });
      expect(res.body.message).toContain(field);
    });

    test("POST /v1/sagas over server.maxBodyBytes → 413 naming the body and the limit", async () => {
      const big = JSON.stringify({
        gid: "nr-big",
        saga: { steps: [{ action: rm.url("TransOut"), payload: Buffer.alloc(MAX_BODY).toString("base64") }] },
      });
      for (const body of [big, chunks(big)]) {
        const res = await writesNothing("nr-big", () => rawPost("/v1/sagas", body));
        expect(res.status).toBe(413);
        expect(res.body).toMatchObject({ code: Code.ResourceExhausted });
        expect(res.body.message).toContain("body");
        expect(res.body.message).toContain(String(MAX_BODY));
      }
    });

    test.each([
      { query: "pageSize=abc", field: "page_size" },
      { query: "pageSize=-1", field: "page_size" },
      { query: "pageToken=xyz", field: "page_token" },
      { query: "status=TRANSACTION_STATUS_NOPE", field: "TransactionStatus" },
      { query: "status=42", field: "status" },
      { query: "kind=42", field: "kind" },
    ])("GET /v1/transactions?$query → 400 naming $field", async ({ query, field }) => {
      const res = await dtx.get(`/v1/transactions?${query}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(field);
    });
  });
});

function restSaga(gid: string): { gid: string; saga: unknown } {
  return {
    gid,
    saga: {
      steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert"), payload: "eyJhIjoxfQ==" }],
    },
  };
}

describe("option values out of range (run last: a wrongly accepted one leaves rows behind)", () => {
  test("dtm HTTP: a request_timeout too long for a timer is refused, or honoured — not a 1 ms timeout", async () => {
    // 30 days: more than setTimeout's 2^31-1 ms, which Node silently turns into 1 ms.
    const res = await dtx.post(
      "/api/dtmsvr/submit",
      dtmBody("o-rt", { request_timeout: 2_592_000, wait_result: true }),
    );
    if (res.status === 400) {
      expect(res.body.message).toContain("request_timeout");
      expect((await dtx.query("o-rt")).transaction).toBeNull();
    } else {
      expect(res).toEqual({ status: 200, body: { dtm_result: "SUCCESS" } });
      expect(await dtx.status("o-rt")).toBe("succeed");
    }
  });

  test("native: a request_timeout too long for a timer is refused, or honoured", async () => {
    const res = await native
      .submitSaga({
        gid: "o-rt-native",
        saga: { steps: steps() },
        options: { waitResult: true, requestTimeout: { seconds: 2_592_000n } },
      })
      .catch((err: unknown) => ConnectError.from(err));
    if (res instanceof ConnectError) {
      expect(res.code).toBe(Code.InvalidArgument);
      expect(res.rawMessage).toContain("request_timeout");
    } else {
      expect(res.status).toBe(TransactionStatus.SUCCEED);
    }
  });

  test("dtm HTTP: a retry_interval past any date is refused, not a 500 from the store", async () => {
    rm.setDefault("TransOut", "ERR");
    try {
      const res = await dtx.post(
        "/api/dtmsvr/submit",
        dtmBody("o-ri", { retry_interval: 1e15, wait_result: true }),
      );
      expect(res.status).not.toBe(500);
      expect(res.body).toEqual({ dtm_result: "FAILURE", message: expect.any(String) });
      if (res.status === 400) expect(res.body.message).toContain("retry_interval");
    } finally {
      rm.setDefault("TransOut", "OK");
      await dtx.settled();
    }
  });

  test("a retry_interval dtm's route accepts keeps the REST listing readable", async () => {
    // 10^12 s is stored as is; it is beyond google.protobuf.Duration's JSON range (±315576000000 s).
    const res = await dtx.post(
      "/api/dtmsvr/submit",
      dtmBody("o-ri2", { retry_interval: 1e12, wait_result: true }),
    );
    if (res.status === 400) {
      expect(res.body.message).toContain("retry_interval");
      return;
    }
    expect(res.status).toBe(200);
    const list = await dtx.get("/v1/transactions");
    expect([list.status, list.body.message]).toEqual([200, undefined]);
    const one = await dtx.get("/v1/transactions/o-ri2");
    expect([one.status, one.body.message]).toEqual([200, undefined]);
  });
});
