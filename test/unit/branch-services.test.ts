import * as grpc from "@grpc/grpc-js";
import { Agent, request } from "undici";
import { Answer, BranchServices } from "../support/branch-services";

const identity = (b: Buffer): Buffer => b;

interface GrpcResult {
  code: grpc.status;
  details: string;
  reply?: Buffer;
}

function grpcCall(
  client: grpc.Client,
  method: string,
  body: Buffer,
  md: Record<string, string>,
  deadlineMs = 5000,
): Promise<GrpcResult> {
  const metadata = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) metadata.set(k, v);
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      method,
      identity,
      identity,
      body,
      metadata,
      { deadline: Date.now() + deadlineMs },
      (err, reply) => {
        if (err) resolve({ code: err.code, details: err.details });
        else resolve({ code: grpc.status.OK, details: "", reply });
      },
    );
  });
}

function dtmMeta(gid: string, op = "action", branchId = "01", transType = "saga"): Record<string, string> {
  return {
    "dtm-gid": gid,
    "dtm-trans_type": transType,
    "dtm-branch_id": branchId,
    "dtm-op": op,
    "dtm-dtm": "",
  };
}

async function httpCall(
  dispatcher: Agent,
  url: string,
  opts: { method?: "GET" | "POST"; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  const res = await request(url, {
    dispatcher,
    method: opts.method ?? "POST",
    body: opts.body,
    headers: { "content-type": "application/json", ...(opts.headers ?? {}) },
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
  });
  return { status: res.statusCode, body: await res.body.text() };
}

function q(gid: string, op = "action", branchId = "01", transType = "saga"): string {
  return `?gid=${gid}&trans_type=${transType}&branch_id=${branchId}&op=${op}`;
}

describe("BranchServices", () => {
  let svc: BranchServices;
  let agent: Agent;
  let client: grpc.Client;

  beforeAll(async () => {
    svc = await BranchServices.start();
    agent = new Agent();
    client = new grpc.Client(svc.grpcTarget, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await agent.close();
    await svc.close();
  });

  beforeEach(() => svc.clearCalls());

  test("addresses", () => {
    expect(svc.httpBase).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/busi$/);
    expect(svc.grpcTarget).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(svc.url("TransOut")).toBe(`${svc.httpBase}/TransOut`);
    expect(svc.grpcUrl("TransOut")).toBe(`${svc.grpcTarget}/busi.Busi/TransOut`);
    expect(svc.grpcWildcard).toBe(true);
  });

  describe("HTTP answers", () => {
    const cases: Array<[Answer, number, string]> = [
      ["OK", 200, '{"dtm_result":"SUCCESS"}'],
      ["FAIL", 409, '{"error":"reason:Insufficient balance. FAILURE"}'],
      ["ONG", 425, '{"dtm_result":"ONGOING"}'],
      ["ERR", 500, '{"error":"injected error"}'],
      [{ status: 200, body: '{"dtm_result":"FAILURE"}' }, 200, '{"dtm_result":"FAILURE"}'],
    ];
    test.each(cases)("%j", async (answer, status, body) => {
      svc.script("TransOut", answer);
      const res = await httpCall(agent, svc.url("TransOut") + q("g-http", "action", "01"), {
        body: '{"amount":30}',
        headers: { "X-Custom": "abc" },
      });
      expect(res).toEqual({ status, body });
      const calls = svc.calls();
      expect(calls).toHaveLength(1);
      const c = calls[0];
      expect(c.transport).toBe("http");
      expect(c.path).toBe("/api/busi/TransOut");
      expect(c.method).toBe("POST");
      expect(c.gid).toBe("g-http");
      expect(c.transType).toBe("saga");
      expect(c.branchId).toBe("01");
      expect(c.op).toBe("action");
      expect(c.headers["x-custom"]).toBe("abc");
      expect(c.headers["content-type"]).toBe("application/json");
      expect(c.body.toString()).toBe('{"amount":30}');
      expect(typeof c.at).toBe("number");
      expect(Math.abs(Date.now() - c.at)).toBeLessThan(5000);
    });

    test("GET without body, any path prefix", async () => {
      const base = svc.httpBase.replace(/\/api\/busi$/, "");
      const res = await httpCall(
        agent,
        `${base}/other/prefix/QueryPrepared${q("g-get", "msg", "00", "msg")}`,
        {
          method: "GET",
        },
      );
      expect(res.status).toBe(200);
      const [c] = svc.callsTo("QueryPrepared");
      expect(c.method).toBe("GET");
      expect(c.path).toBe("/other/prefix/QueryPrepared");
      expect(c.body.length).toBe(0);
      expect(c.op).toBe("msg");
      expect(c.branchId).toBe("00");
      expect(c.transType).toBe("msg");
    });

    test("custom failure reason", async () => {
      svc.setFailureReason("no money");
      try {
        svc.script("TransIn", "FAIL");
        const res = await httpCall(agent, svc.url("TransIn") + q("g-r"), { body: "{}" });
        expect(res).toEqual({ status: 409, body: '{"error":"reason:no money. FAILURE"}' });
      } finally {
        svc.setFailureReason("Insufficient balance");
      }
    });
  });

  describe("gRPC answers", () => {
    const cases: Array<[Answer, grpc.status, string]> = [
      ["OK", grpc.status.OK, ""],
      ["FAIL", grpc.status.ABORTED, "reason:Insufficient balance. FAILURE"],
      ["ONG", grpc.status.FAILED_PRECONDITION, "ONGOING"],
      ["ERR", grpc.status.INTERNAL, "injected error"],
      [{ status: 200, body: '{"dtm_result":"FAILURE"}' }, grpc.status.ABORTED, '{"dtm_result":"FAILURE"}'],
      [
        { status: 200, body: "x", grpc: { code: grpc.status.ABORTED, details: "ONGOING" } },
        grpc.status.ABORTED,
        "ONGOING",
      ],
    ];
    test.each(cases)("%j", async (answer, code, details) => {
      svc.script("TransOut", answer);
      const body = Buffer.from([0x08, 0x1e, 0x00, 0xff]);
      const res = await grpcCall(client, "/busi.Busi/TransOut", body, {
        ...dtmMeta("g-grpc", "compensate", "02"),
        test_header: "yes",
      });
      expect(res.code).toBe(code);
      if (code === grpc.status.OK) expect(res.reply?.length).toBe(0);
      else expect(res.details).toBe(details);
      const calls = svc.calls();
      expect(calls).toHaveLength(1);
      const c = calls[0];
      expect(c.transport).toBe("grpc");
      expect(c.path).toBe("/busi.Busi/TransOut");
      expect(c.method).toBe("POST");
      expect(c.gid).toBe("g-grpc");
      expect(c.transType).toBe("saga");
      expect(c.branchId).toBe("02");
      expect(c.op).toBe("compensate");
      expect(c.headers["dtm-dtm"]).toBe("");
      expect(c.headers["test_header"]).toBe("yes");
      expect(c.body.equals(body)).toBe(true);
    });

    test("methods outside the fixed list are served (wildcard)", async () => {
      const res = await grpcCall(
        client,
        "/workflow.Workflow/Execute",
        Buffer.alloc(0),
        dtmMeta("g-wf", "wf1", "00"),
      );
      expect(res.code).toBe(grpc.status.OK);
      const res2 = await grpcCall(client, "/busi.Busi/SomethingNew", Buffer.from("x"), dtmMeta("g-new"));
      expect(res2.code).toBe(grpc.status.OK);
      expect(svc.callsTo("Execute")[0].path).toBe("/workflow.Workflow/Execute");
      expect(svc.callsTo("Execute")[0].op).toBe("wf1");
      expect(svc.callsTo("SomethingNew")).toHaveLength(1);
    });
  });

  test("script queue then default; shared across transports", async () => {
    svc.setDefault("TransInRevert", "ONG");
    svc.script("TransInRevert", "ERR", "FAIL");
    svc.script("TransInRevert", "OK");
    const u = svc.url("TransInRevert") + q("g-q", "compensate");
    expect((await httpCall(agent, u, { body: "{}" })).status).toBe(500);
    expect((await grpcCall(client, "/busi.Busi/TransInRevert", Buffer.alloc(0), dtmMeta("g-q"))).code).toBe(
      grpc.status.ABORTED,
    );
    expect((await httpCall(agent, u, { body: "{}" })).status).toBe(200);
    expect((await httpCall(agent, u, { body: "{}" })).status).toBe(425);
    expect((await httpCall(agent, u, { body: "{}" })).status).toBe(425);
    expect(svc.callsTo("TransInRevert").map((c) => c.transport)).toEqual([
      "http",
      "grpc",
      "http",
      "http",
      "http",
    ]);
    expect(svc.callsTo("TransIn")).toHaveLength(0);
    svc.setDefault("TransInRevert", "OK");
  });

  test("requireHeader", async () => {
    svc.requireHeader("TransOutHeaderYes", "test_header", "test");
    const u = svc.url("TransOutHeaderYes") + q("g-h");
    expect((await httpCall(agent, u, { body: "{}" })).status).toBe(500);
    expect((await httpCall(agent, u, { body: "{}", headers: { test_header: "other" } })).status).toBe(500);
    expect((await httpCall(agent, u, { body: "{}", headers: { test_header: "test" } })).status).toBe(200);
    const m = "/busi.Busi/TransOutHeaderYes";
    expect((await grpcCall(client, m, Buffer.alloc(0), dtmMeta("g-h"))).code).toBe(grpc.status.INTERNAL);
    expect(
      (await grpcCall(client, m, Buffer.alloc(0), { ...dtmMeta("g-h"), test_header: "test" })).code,
    ).toBe(grpc.status.OK);
    // a rejected call does not consume a scripted answer
    svc.script("TransOutHeaderYes", "FAIL");
    expect((await httpCall(agent, u, { body: "{}" })).status).toBe(500);
    expect((await httpCall(agent, u, { body: "{}", headers: { test_header: "test" } })).status).toBe(409);
    expect(svc.callsTo("TransOutHeaderYes")).toHaveLength(7);
  });

  test("waitForCalls resolves when enough calls arrive and rejects on timeout", async () => {
    const p = svc.waitForCalls(2, 3000);
    void httpCall(agent, svc.url("Step1") + q("g-w"), { body: "{}" });
    void grpcCall(client, "/busi.Busi/Step2", Buffer.alloc(0), dtmMeta("g-w"));
    const calls = await p;
    expect(calls.length).toBeGreaterThanOrEqual(2);
    await expect(svc.waitForCalls(10, 100)).rejects.toThrow(/waitForCalls\(10\)/);
    expect(await svc.waitForCalls(1)).toHaveLength(2);
  });
});

describe("BranchServices HANG", () => {
  test("held HTTP and gRPC requests are released by close()", async () => {
    const svc = await BranchServices.start();
    const agent = new Agent();
    const client = new grpc.Client(svc.grpcTarget, grpc.credentials.createInsecure());
    try {
      svc.script("TransOut", "HANG");
      svc.setDefault("TransIn", "HANG");
      const h = httpCall(agent, svc.url("TransOut") + q("g-hang"), { body: "{}" }).then(
        (r) => r,
        (e: Error) => e,
      );
      const g = grpcCall(client, "/busi.Busi/TransIn", Buffer.alloc(0), dtmMeta("g-hang"), 20000);
      await svc.waitForCalls(2);
      // still held after a while
      const raced = await Promise.race([h, g, new Promise((r) => setTimeout(() => r("pending"), 300))]);
      expect(raced).toBe("pending");
      const t0 = Date.now();
      await svc.close();
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(await h).toEqual({ status: 503, body: '{"error":"service closed"}' });
      expect((await g).code).toBe(grpc.status.UNAVAILABLE);
      expect(svc.calls().map((c) => c.gid)).toEqual(["g-hang", "g-hang"]);
    } finally {
      client.close();
      await agent.close();
      await svc.close();
    }
  });

  test("held requests end at the client's own timeout; close() still drains", async () => {
    const svc = await BranchServices.start();
    const agent = new Agent();
    const client = new grpc.Client(svc.grpcTarget, grpc.credentials.createInsecure());
    try {
      svc.setDefault("TransOut", "HANG");
      const h = httpCall(agent, svc.url("TransOut") + q("g-to"), { body: "{}", timeoutMs: 200 }).then(
        (r) => r,
        (e: Error) => e,
      );
      const g = await grpcCall(client, "/busi.Busi/TransOut", Buffer.alloc(0), dtmMeta("g-to"), 200);
      expect(g.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      expect(await h).toBeInstanceOf(Error);
      // other routes still answer normally
      expect((await httpCall(agent, svc.url("TransIn"), { body: "{}" })).status).toBe(200);
      const t0 = Date.now();
      await svc.close();
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      client.close();
      await agent.close();
      await svc.close();
    }
  });
});
