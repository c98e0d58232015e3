/**
 * The branch-handler helpers: what a business function's result or error becomes on the wire
 * (HTTP 200/409/425/500, gRPC OK/ABORTED/FAILED_PRECONDITION/INTERNAL), and what the coordinator
 * makes of it in a real saga.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { request } from "undici";
import { SagaBranchService, SagaBranchServiceActionRequestSchema } from "../../gen/dtx/v1/branch_pb";
import {
  BranchFailure,
  BranchOngoing,
  connectBranch,
  Coordinator,
  httpBranch,
  httpBranchRoutes,
  type BranchContext,
} from "../../src/client";
import { TestCoordinator } from "../support/coordinator";
import { listenH2c, listenHttp, type Listening } from "../support/listen";
import { freshGid } from "../e2e/saga-helpers";

/** What each business function does next, by name; every call's context is recorded. */
const behaviour = new Map<string, () => unknown>();
const seen: Array<{ name: string; ctx: BranchContext; body: string }> = [];

function business(name: string, ctx: BranchContext, body: string): unknown {
  seen.push({ name, ctx, body });
  return behaviour.get(name)?.();
}

let dtx: TestCoordinator;
let http: Listening;
let h2: Listening;
let httpBase: string;
let grpcTarget: string;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  http = await listenHttp(
    httpBranchRoutes(
      {
        "/busi/Action": (call) => business("Action", call.ctx, call.body.toString()),
        "/busi/Compensate": (call) => business("Compensate", call.ctx, call.body.toString()),
        "/busi/Json": (call) => call.json<{ echo: unknown }>().echo,
      },
      { maxBodyBytes: 64 },
    ),
  );
  h2 = await listenH2c(
    connectNodeAdapter({
      routes: (r) =>
        r.service(SagaBranchService, {
          action: connectBranch(
            ({ ctx, request: req }) => void business("Action", ctx, Buffer.from(req.payload).toString()),
          ),
          compensate: connectBranch(
            ({ ctx, request: req }) => void business("Compensate", ctx, Buffer.from(req.payload).toString()),
          ),
        }),
    }),
  );
  httpBase = `http://127.0.0.1:${http.port}/busi`;
  grpcTarget = `127.0.0.1:${h2.port}`;
});
afterEach(() => behaviour.clear());
afterAll(async () => {
  await Promise.all([http?.close(), h2?.close()]);
  await dtx?.close();
});

async function post(path: string, body: string): Promise<{ status: number; body: unknown }> {
  const res = await request(httpBase + path, { method: "POST", body });
  return { status: res.statusCode, body: await res.body.json() };
}

describe("node:http", () => {
  test.each([
    ["nothing", () => undefined, 200, { dtm_result: "SUCCESS" }],
    ["a value", () => ({ reserved: 30 }), 200, { reserved: 30 }],
    [
      "BranchFailure",
      () => Promise.reject(new BranchFailure("no account carol")),
      409,
      { dtm_result: "FAILURE", message: "no account carol" },
    ],
    [
      "BranchOngoing",
      () => Promise.reject(new BranchOngoing("not yet")),
      425,
      { dtm_result: "ONGOING", message: "not yet" },
    ],
    ["another error", () => Promise.reject(new Error("db down")), 500, { message: "db down" }],
    ["an answer that reads as a verdict", () => ({ note: "FAILURE" }), 500, expect.objectContaining({})],
  ])("a business function resolving with / throwing %s", async (_, fn, status, body) => {
    behaviour.set("Action", fn);
    const res = await post("/Action?gid=g1&trans_type=saga&branch_id=01&op=action&dtm=x", "{}");
    expect(res).toEqual({ status, body });
    expect(seen.at(-1)!.ctx).toEqual({
      gid: "g1",
      transType: "saga",
      branchId: "01",
      op: "action",
      dtm: "x",
    });
  });

  test("a body that is not JSON is 400, one over the limit 413, an unknown path 404", async () => {
    expect((await post("/Json", "{nope")).status).toBe(400);
    expect(await post("/Json", '{"echo":{"a":1}}')).toEqual({ status: 200, body: { a: 1 } });
    expect((await post("/Json", JSON.stringify({ echo: "x".repeat(100) }))).status).toBe(413);
    expect((await post("/Nowhere", "")).status).toBe(404);
  });

  test("httpBranch alone serves every path with one function", async () => {
    const one = await listenHttp(httpBranch(() => ({ ok: true })));
    try {
      const res = await request(`http://127.0.0.1:${one.port}/any/where`);
      expect(await res.body.json()).toEqual({ ok: true });
    } finally {
      await one.close();
    }
  });

  test("in a saga: FAILURE rolls back, ONGOING is called again, another error is retried", async () => {
    const sdk = Coordinator.http(dtx.base);
    try {
      const answers = [new BranchOngoing(), new Error("flaky")];
      behaviour.set("Action", () => {
        const next = answers.shift();
        if (next) throw next;
      });
      const gid = freshGid("handler-saga");
      await expect(
        sdk.saga({ gid, waitResult: true }).add(`${httpBase}/Action`, `${httpBase}/Compensate`, "a").submit(),
      ).rejects.toThrow();
      await dtx.cron({ forwardMs: 60_000 });
      await dtx.cron({ forwardMs: 60_000 });
      expect(await dtx.status(gid)).toBe("succeed");
      expect(seen.filter((s) => s.ctx.gid === gid).map((s) => s.name)).toEqual([
        "Action",
        "Action",
        "Action",
      ]);

      behaviour.set("Action", () => Promise.reject(new BranchFailure("no")));
      const failed = freshGid("handler-saga-fail");
      await expect(
        sdk
          .saga({ gid: failed, waitResult: true })
          .add(`${httpBase}/Action`, `${httpBase}/Compensate`, "b")
          .submit(),
      ).rejects.toThrow("no");
      expect(await dtx.status(failed)).toBe("failed");
      expect(seen.filter((s) => s.ctx.gid === failed).map((s) => [s.name, s.ctx.op])).toEqual([
        ["Action", "action"],
        ["Compensate", "compensate"],
      ]);
    } finally {
      await sdk.close();
    }
  });
});

describe("Connect", () => {
  const client = () =>
    createClient(SagaBranchService, createGrpcTransport({ baseUrl: `http://${grpcTarget}` }));
  const payload = (text: string) => ({ payload: Buffer.from(text) });

  test.each([
    ["BranchFailure", new BranchFailure("no account carol"), Code.Aborted],
    ["BranchOngoing", new BranchOngoing("not yet"), Code.FailedPrecondition],
    ["a ConnectError", new ConnectError("bad", Code.InvalidArgument), Code.InvalidArgument],
    ["another error", new Error("db down"), Code.Internal],
  ])("a business function throwing %s answers its code", async (_, err, code) => {
    behaviour.set("Action", () => {
      throw err;
    });
    const got = await client()
      .action(payload("x"), {
        headers: { "dtm-gid": "g2", "dtm-trans_type": "saga", "dtm-branch_id": "03", "dtm-op": "action" },
      })
      .catch((e: unknown) => ConnectError.from(e));
    expect(got).toBeInstanceOf(ConnectError);
    expect((got as ConnectError).code).toBe(code);
    expect((got as ConnectError).rawMessage).toBe(err instanceof ConnectError ? err.rawMessage : err.message);
    expect(seen.at(-1)!.ctx).toEqual({ gid: "g2", transType: "saga", branchId: "03", op: "action", dtm: "" });
  });

  test("in a saga over gRPC: the coordinator's metadata and payload reach the function; ABORTED rolls back", async () => {
    const sdk = Coordinator.grpc(dtx.grpcTarget);
    try {
      const url = (m: string) => `${grpcTarget}/${SagaBranchService.typeName}/${m}`;
      const bytes = toBinary(
        SagaBranchServiceActionRequestSchema,
        create(SagaBranchServiceActionRequestSchema, payload("p1")),
      );
      const gid = freshGid("connect-saga");
      await sdk.saga({ gid, waitResult: true }).add(url("Action"), url("Compensate"), bytes).submit();
      expect(
        seen.filter((s) => s.ctx.gid === gid).map((s) => [s.name, s.ctx.op, s.ctx.branchId, s.body]),
      ).toEqual([["Action", "action", "01", "p1"]]);
      behaviour.set("Action", () => {
        throw new BranchFailure("refused");
      });
      const failed = freshGid("connect-saga-fail");
      await expect(
        sdk.saga({ gid: failed, waitResult: true }).add(url("Action"), url("Compensate"), bytes).submit(),
      ).rejects.toThrow("refused");
      expect(await dtx.status(failed)).toBe("failed");
      expect(seen.filter((s) => s.ctx.gid === failed).map((s) => s.name)).toEqual(["Action", "Compensate"]);
    } finally {
      await sdk.close();
    }
  });
});
