import { create, createFileRegistry, setExtension, toJson } from "@bufbuild/protobuf";
import type { DescMessage, DescService, Message, MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  MethodOptionsSchema,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Readable } from "node:stream";
import { request } from "undici";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TransactionSchema, TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { http } from "../../gen/google/api/annotations_pb";
import { HttpRuleSchema } from "../../gen/google/api/http_pb";
import { createRestGateway } from "../../src/api/rest-gateway";
import { Listener } from "../../src/server/listener";

let lastHeaders: Headers | undefined;

// NewGid is left out on purpose: its route exists, so the gateway must answer 501.
const impl: Partial<ServiceImpl<typeof CoordinatorService>> = {
  getTransaction(req, ctx) {
    lastHeaders = ctx.requestHeader;
    ctx.responseHeader.set("x-served-by", "test");
    return {
      transaction: create(TransactionSchema, {
        gid: req.gid,
        status: TransactionStatus.SUCCEED,
        rollbackReason: ctx.requestHeader.get("x-tenant") ?? "",
      }),
    };
  },
  submitSaga(req) {
    const m = /^err-(\d+)$/.exec(req.gid);
    if (m) throw new ConnectError("x", Number(m[1]) as Code);
    if (req.gid === "") throw new ConnectError("gid is required", Code.InvalidArgument);
    const steps = req.saga?.steps ?? [];
    return {
      gid: req.gid,
      status: TransactionStatus.SUBMITTED,
      rollbackReason: [
        `steps=${steps.length}`,
        `payload=${Buffer.from(steps[0]?.payload ?? []).toString()}`,
        `wait=${req.options?.waitResult}`,
        `timeout=${req.options?.timeoutToFail?.seconds}`,
      ].join(","),
    };
  },
  listTransactions(req) {
    return {
      transactions: [
        create(TransactionSchema, { gid: `size=${req.pageSize}`, status: req.status, kind: req.kind }),
      ],
      nextPageToken: req.pageToken,
    };
  },
};

describe("REST gateway", () => {
  let listener: Listener;
  let base: string;

  beforeAll(async () => {
    const gateway = createRestGateway([{ service: CoordinatorService, impl }], { maxBodyBytes: 1024 });
    const handler = connectNodeAdapter({
      routes: (r) => r.service(CoordinatorService, impl),
      fallback: (req, res) =>
        void gateway(req, res).then((handled) => {
          if (!handled) {
            res.writeHead(404);
            res.end();
          }
        }),
    });
    listener = await Listener.listen({ host: "127.0.0.1", port: 0, handler });
    base = `http://127.0.0.1:${listener.port}`;
  });
  afterAll(() => listener.close());

  async function call(method: "GET" | "POST" | "DELETE", path: string, body?: string | Readable) {
    const res = await request(base + path, {
      method,
      body,
      headers: { "content-type": "application/json", "x-tenant": "acme" },
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, json: text ? JSON.parse(text) : undefined };
  }

  it("binds path variables, forwards call headers but not protocol ones, and returns JSON names", async () => {
    const res = await call("GET", "/v1/transactions/a%2Fb%20c");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["x-served-by"]).toBe("test");
    expect(res.json).toEqual({
      transaction: { gid: "a/b c", status: "TRANSACTION_STATUS_SUCCEED", rollbackReason: "acme" },
    });
    // The handler sees the in-process transport's content type, not the JSON request's.
    expect(lastHeaders?.get("content-type")).toBe("application/proto");
    expect(lastHeaders?.get("x-tenant")).toBe("acme");
  });

  it("binds the whole body for body: *", async () => {
    const body = {
      gid: "g1",
      saga: {
        steps: [
          { action: "http://a/x", compensate: "http://a/y", payload: Buffer.from("hi").toString("base64") },
        ],
      },
      options: { wait_result: true, timeoutToFail: "3s" }, // proto names are accepted too
    };
    const res = await call("POST", "/v1/sagas", JSON.stringify(body));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      gid: "g1",
      status: "TRANSACTION_STATUS_SUBMITTED",
      rollbackReason: "steps=1,payload=hi,wait=true,timeout=3",
    });
  });

  it("binds query parameters: scalars, enums by name and by number, proto or JSON names", async () => {
    const res = await call(
      "GET",
      "/v1/transactions?page_size=10&status=TRANSACTION_STATUS_FAILED&kind=2&pageToken=t1&x=1",
    );
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      transactions: [{ gid: "size=10", status: "TRANSACTION_STATUS_FAILED", kind: "TRANSACTION_KIND_TCC" }],
      nextPageToken: "t1",
    });
  });

  it("answers 404 (via the fallback) to unknown paths and methods", async () => {
    expect((await call("GET", "/v1/nothing")).status).toBe(404);
    expect((await call("DELETE", "/v1/transactions/g1")).status).toBe(404);
    expect((await call("GET", "/v1/transactions/a/b")).status).toBe(404);
  });

  it("answers 400 naming the problem for bad JSON and bad field values", async () => {
    const bad = await call("POST", "/v1/sagas", '{"gid": ');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ code: Code.InvalidArgument, details: [] });
    expect(bad.json.message).toMatch(/invalid JSON body/);

    const unknown = await call("POST", "/v1/sagas", '{"gidd": "g"}');
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/"gidd" is unknown/);

    const payload = await call("POST", "/v1/sagas", '{"saga": {"steps": [{"payload": "!!"}]}}');
    expect(payload.status).toBe(400);
    expect(payload.json.message).toMatch(/dtx\.v1\.SagaStep\.payload/);

    const query = await call("GET", "/v1/transactions?page_size=abc");
    expect(query.status).toBe(400);
    expect(query.json.message).toMatch(/page_size/);

    const enumName = await call("GET", "/v1/transactions?status=NOPE");
    expect(enumName.status).toBe(400);
    expect(enumName.json.message).toMatch(/TransactionStatus/);
  });

  it.each([
    [Code.InvalidArgument, 400],
    [Code.NotFound, 404],
    [Code.AlreadyExists, 409],
    [Code.FailedPrecondition, 400],
    [Code.Aborted, 409],
    [Code.Unauthenticated, 401],
    [Code.PermissionDenied, 403],
    [Code.ResourceExhausted, 503],
    [Code.Unavailable, 503],
    [Code.DeadlineExceeded, 504],
    [Code.Internal, 500],
    [Code.Unknown, 500],
    [Code.Canceled, 499],
  ])("maps code %i to HTTP %i with a grpc-gateway error body", async (code, status) => {
    const res = await call("POST", "/v1/sagas", JSON.stringify({ gid: `err-${code}` }));
    expect(res.status).toBe(status);
    expect(res.json).toEqual({ code, message: "x", details: [] });
  });

  it("answers 501 for an annotated method without an implementation", async () => {
    const res = await call("POST", "/v1/gids", "{}");
    expect(res.status).toBe(501);
    expect(res.json.code).toBe(Code.Unimplemented);
  });

  it("answers 413 naming the body to a body over maxBodyBytes, declared or streamed", async () => {
    const declared = await call("POST", "/v1/sagas", JSON.stringify({ gid: "x".repeat(2000) }));
    expect(declared.status).toBe(413);
    expect(declared.json.code).toBe(Code.ResourceExhausted);
    expect(declared.json.message).toMatch(/^body: is larger than the limit of \d+ bytes$/);
    async function* chunks() {
      yield Buffer.from(`{"gid": "${"y".repeat(700)}`);
      yield Buffer.from(`${"y".repeat(700)}"}`);
    }
    const streamed = await call("POST", "/v1/sagas", Readable.from(chunks()));
    expect(streamed.status).toBe(413);
    // The server is still fine afterwards.
    expect((await call("GET", "/v1/transactions/ok")).status).toBe(200);
  });
});

/**
 * A service built at runtime, so the template features the dtx protos do not use yet are covered:
 * nested fields, multi-segment variables, `**`, verbs, additional bindings, `body: "field"`, custom
 * methods and `response_body`.
 */
function templateService(): DescService {
  const { STRING, INT32, BOOL, MESSAGE } = FieldDescriptorProto_Type;
  const field = (name: string, number: number, type: FieldDescriptorProto_Type, more = {}) => ({
    name,
    number,
    type,
    label: FieldDescriptorProto_Label.OPTIONAL,
    jsonName: name.replace(/_(.)/g, (_, c: string) => c.toUpperCase()),
    ...more,
  });
  const options = (rule: MessageInitShape<typeof HttpRuleSchema>) => {
    const opts = create(MethodOptionsSchema);
    setExtension(opts, http, create(HttpRuleSchema, rule));
    return opts;
  };
  const file = create(FileDescriptorProtoSchema, {
    name: "gwtest/v1/echo.proto",
    package: "gwtest.v1",
    syntax: "proto3",
    messageType: [
      { name: "Inner", field: [field("name", 1, STRING), field("count", 2, INT32)] },
      {
        name: "EchoRequest",
        field: [
          field("name", 1, STRING),
          field("inner", 2, MESSAGE, { typeName: ".gwtest.v1.Inner" }),
          field("path", 3, STRING),
          field("tags", 4, STRING, { label: FieldDescriptorProto_Label.REPEATED }),
          field("flag", 5, BOOL),
          field("page_size", 6, INT32),
        ],
      },
      {
        name: "EchoResponse",
        field: [field("echo", 1, STRING), field("inner", 2, MESSAGE, { typeName: ".gwtest.v1.Inner" })],
      },
    ],
    service: [
      {
        name: "EchoService",
        method: [
          {
            name: "Echo",
            inputType: ".gwtest.v1.EchoRequest",
            outputType: ".gwtest.v1.EchoResponse",
            options: options({
              pattern: { case: "get", value: "/v1/things/{inner.name}/{path=shelves/*/books/*}:peek" },
              additionalBindings: [
                { pattern: { case: "post", value: "/v1/things/{name}:echo" }, body: "inner" },
                { pattern: { case: "patch", value: "/v1/files/{path=**}" }, body: "*" },
                { pattern: { case: "custom", value: { kind: "PURGE", path: "/v1/things/{name}" } } },
                { pattern: { case: "get", value: "/v1/things/special" } },
              ],
            }),
          },
          {
            name: "Inner",
            inputType: ".gwtest.v1.EchoRequest",
            outputType: ".gwtest.v1.EchoResponse",
            options: options({ pattern: { case: "get", value: "/v1/inner/{name}" }, responseBody: "inner" }),
          },
        ],
      },
    ],
  });
  return createFileRegistry(file, () => undefined).getService("gwtest.v1.EchoService")!;
}

describe("REST gateway path templates", () => {
  const service = templateService();
  const request_ = service.methods[0].input as DescMessage;
  const echo = (req: Message) => ({ echo: JSON.stringify(toJson(request_, req)) });
  let listener: Listener;
  let base: string;

  beforeAll(async () => {
    const gateway = createRestGateway([
      {
        service,
        impl: {
          echo,
          inner: (req: Message) => ({ inner: { name: (req as unknown as { name: string }).name } }),
        },
      },
    ]);
    const handler = (req: Parameters<typeof gateway>[0], res: Parameters<typeof gateway>[1]) =>
      void gateway(req, res).then((handled) => {
        if (!handled) {
          res.writeHead(404);
          res.end();
        }
      });
    listener = await Listener.listen({ host: "127.0.0.1", port: 0, handler });
    base = `http://127.0.0.1:${listener.port}`;
  });
  afterAll(() => listener.close());

  async function echoed(method: string, path: string, body?: string) {
    const res = await request(base + path, { method, body });
    const text = await res.body.text();
    if (res.statusCode !== 200) return { status: res.statusCode, text };
    return JSON.parse(JSON.parse(text).echo);
  }

  it("binds nested fields, multi-segment variables and the verb", async () => {
    expect(
      await echoed("GET", "/v1/things/n1/shelves/s1/books/b%2F2:peek?tags=a&tags=b&flag=true&pageSize=3"),
    ).toEqual({
      inner: { name: "n1" },
      path: "shelves/s1/books/b%2F2", // multi-segment variables keep an encoded slash encoded
      tags: ["a", "b"],
      flag: true,
      pageSize: 3,
    });
    expect((await echoed("GET", "/v1/things/n1/shelves/s1/books/b2")).status).toBe(404); // verb missing
    expect((await echoed("GET", "/v1/things/n1/shelves/s1:peek")).status).toBe(404);
  });

  it("binds body: field, with query parameters for the rest and the path winning", async () => {
    const got = await echoed(
      "POST",
      "/v1/things/n2:echo?flag=false&tags=t&inner.count=9",
      '{"count": 5, "name": "x"}',
    );
    expect(got).toEqual({ name: "n2", inner: { name: "x", count: 5 }, tags: ["t"] });
  });

  it("binds ** and body: *, where the path overrides the body", async () => {
    const got = await echoed("PATCH", "/v1/files/a/b/c.txt?name=ignored", '{"path": "body", "name": "n3"}');
    expect(got).toEqual({ path: "a/b/c.txt", name: "n3" });
  });

  it("serves custom methods, prefers literal segments and applies response_body", async () => {
    expect(await echoed("PURGE", "/v1/things/n4")).toEqual({ name: "n4" });
    expect(await echoed("GET", "/v1/things/special")).toEqual({});
    const res = await request(`${base}/v1/inner/n5`);
    expect(await res.body.json()).toEqual({ name: "n5" });
  });

  it("rejects several values for a singular query parameter", async () => {
    const got = await echoed("GET", "/v1/things/n/shelves/s/books/b:peek?flag=true&flag=false");
    expect(got.status).toBe(400);
    expect(JSON.parse(got.text).message).toBe('query parameter "flag": one value expected');
  });
});
