/**
 * dtm's routes other than submit, end to end: newGid, version, ping, query, all (paging and filters),
 * dtm's gRPC NewGid, unknown paths and services, the JSON shapes of query, and a second listening port.
 */
import * as grpcjs from "@grpc/grpc-js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { request } from "undici";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let rm: BranchServices;
const managers: Http2SessionManager[] = [];

/** gids seeded in beforeAll, oldest first, with their final status. */
const seeded: Array<[string, string]> = [
  ["r-ok-1", "succeed"],
  ["r-fail", "failed"],
  ["r-ok-2", "succeed"],
  ["r-grpc", "succeed"],
  ["r-running", "submitted"],
];

beforeAll(async () => {
  dtx = await TestCoordinator.start({ server: { ports: [0, 0] } });
  rm = await BranchServices.start();
  for (const [gid] of seeded) {
    if (gid === "r-grpc") {
      await dtm().submit({
        Gid: gid,
        TransType: "saga",
        Steps: JSON.stringify(steps()),
        BinPayloads: [Buffer.from([0, 1, 2, 255]), Buffer.from("{}")],
        TransOptions: { WaitResult: true },
      });
      continue;
    }
    if (gid === "r-fail") rm.script("TransIn", "FAIL");
    if (gid === "r-running") rm.script("TransOut", "ONG");
    const res = await dtx.post("/api/dtmsvr/submit", sagaBody(gid, { wait_result: gid !== "r-running" }));
    expect(res.status).toBe(gid === "r-fail" ? 409 : 200);
    await dtx.settled(gid);
  }
  for (const [gid, status] of seeded) expect([gid, await dtx.status(gid)]).toEqual([gid, status]);
});
afterAll(async () => {
  for (const m of managers) m.abort();
  await rm?.close();
  await dtx?.close();
});

function steps() {
  return [
    { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
    { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
  ];
}

function sagaBody(gid: string, extra: Record<string, unknown> = {}) {
  return { gid, trans_type: "saga", steps: steps(), payloads: ['{"amount":30}', '{"amount":40}'], ...extra };
}

/** dtm's gRPC client against port `port` (default: the first). */
function dtm(port = dtx.app.ports[0]) {
  const m = new Http2SessionManager(`http://127.0.0.1:${port}`);
  managers.push(m);
  return createClient(Dtm, createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager: m }));
}

async function call(method: string, url: string, body?: string): Promise<{ status: number; body: any }> {
  const res = await request(url, { method: method as "GET", body });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // keep the text
  }
  return { status: res.statusCode, body: parsed };
}

async function all(query = ""): Promise<{ transactions: any[]; next_position: string }> {
  const res = await dtx.get(`/api/dtmsvr/all${query ? `?${query}` : ""}`);
  expect([query, res.status]).toEqual([query, 200]);
  return res.body;
}

const GID = /^[0-9A-Za-z]{22}$/;

describe("simple routes", () => {
  test("GET /api/dtmsvr/newGid → {gid, dtm_result: SUCCESS}, a new gid each time", async () => {
    const a = await dtx.get("/api/dtmsvr/newGid");
    const b = await dtx.get("/api/dtmsvr/newGid");
    expect(a).toEqual({ status: 200, body: { gid: expect.stringMatching(GID), dtm_result: "SUCCESS" } });
    expect(Object.keys(a.body).sort()).toEqual(["dtm_result", "gid"]);
    expect(b.body.gid).toMatch(GID);
    expect(b.body.gid).not.toBe(a.body.gid);
  });

  test("GET /api/dtmsvr/version → {version}", async () => {
    const res = await dtx.get("/api/dtmsvr/version");
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(["version"]);
    expect(typeof res.body.version).toBe("string");
    expect(res.body.version).not.toBe("");
  });

  test("67: GET /api/metrics → 200 in Prometheus's text format", async () => {
    const res = await call("GET", `${dtx.base}/api/metrics`);
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/^dtx_info\{version=".+"\} 1$/m);
  });

  test('/api/ping → {"msg":"pong"} for GET and POST (and any method)', async () => {
    for (const method of ["GET", "POST", "PUT", "DELETE"]) {
      const res = await call(method, `${dtx.base}/api/ping`, method === "POST" ? "{}" : undefined);
      expect([method, res]).toEqual([method, { status: 200, body: { msg: "pong" } }]);
    }
  });

  test("an unknown path → 404", async () => {
    for (const path of ["/nope", "/api/dtmsvr/nope", "/api/dtmsvr", "/api/pingx", "/v1/nope"]) {
      const res = await call("GET", dtx.base + path);
      expect([path, res.status]).toEqual([path, 404]);
    }
  });
});

describe("GET /api/dtmsvr/query", () => {
  test('an unknown gid → {"transaction":null,"branches":[]}', async () => {
    const res = await dtx.get("/api/dtmsvr/query?gid=no-such-gid");
    expect(res).toEqual({ status: 200, body: { transaction: null, branches: [] } });
  });

  test("no gid → an error naming the gid", async () => {
    for (const path of ["/api/dtmsvr/query", "/api/dtmsvr/query?gid="]) {
      const res = await dtx.get(path);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.body.message).toContain("gid");
    }
  });

  test("the JSON shape of a transaction and its branches", async () => {
    const gid = "r-shape";
    const before = Date.now();
    const res = await dtx.post(
      "/api/dtmsvr/submit",
      sagaBody(gid, {
        wait_result: true,
        timeout_to_fail: 60,
        branch_headers: { "x-a": "b" },
        custom_data: '{"concurrent":false}',
      }),
    );
    expect(res).toEqual({ status: 200, body: { dtm_result: "SUCCESS" } });
    const { transaction: t, branches } = await dtx.query(gid);

    expect(t).toEqual({
      id: expect.any(Number),
      create_time: expect.any(String),
      update_time: expect.any(String),
      gid,
      trans_type: "saga",
      status: "succeed",
      protocol: "http",
      finish_time: expect.any(String),
      options: expect.any(String),
      custom_data: '{"concurrent":false}',
      next_cron_interval: expect.any(Number),
      concurrent: false,
      ...(t.owner === undefined ? {} : { owner: expect.any(String) }),
    });
    expect(t.id).toBeGreaterThan(0);
    for (const k of ["create_time", "update_time", "finish_time"]) {
      expect(t[k]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/);
      expect(Date.parse(t[k])).toBeGreaterThanOrEqual(before - 60_000);
      expect(Date.parse(t[k])).toBeLessThanOrEqual(Date.now() + 60_000);
    }
    expect(JSON.parse(t.options)).toEqual({
      wait_result: true,
      timeout_to_fail: 60,
      branch_headers: { "x-a": "b" },
      concurrent: false,
    });

    const b64 = (s: string) => Buffer.from(s).toString("base64");
    expect(branches).toHaveLength(4);
    expect(branches.map((b) => [b.gid, b.url, b.bin_data, b.branch_id, b.op, b.status])).toEqual([
      [gid, rm.url("TransOutRevert"), b64('{"amount":30}'), "01", "compensate", "prepared"],
      [gid, rm.url("TransOut"), b64('{"amount":30}'), "01", "action", "succeed"],
      [gid, rm.url("TransInRevert"), b64('{"amount":40}'), "02", "compensate", "prepared"],
      [gid, rm.url("TransIn"), b64('{"amount":40}'), "02", "action", "succeed"],
    ]);
    for (const b of branches) {
      expect(b).toMatchObject({
        id: expect.any(Number),
        create_time: expect.any(String),
        update_time: expect.any(String),
      });
      expect(b.op === "action" ? typeof b.finish_time : b.finish_time).toBe(
        b.op === "action" ? "string" : undefined,
      );
    }
    const ids = branches.map((b) => b.id);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
  });

  test("binary payloads submitted over gRPC come back as base64 bin_data; protocol grpc", async () => {
    const { transaction, branches } = await dtx.query("r-grpc");
    expect(transaction.protocol).toBe("grpc");
    expect(branches.map((b) => [b.branch_id, b.op, b.bin_data])).toEqual([
      ["01", "compensate", Buffer.from([0, 1, 2, 255]).toString("base64")],
      ["01", "action", Buffer.from([0, 1, 2, 255]).toString("base64")],
      ["02", "compensate", Buffer.from("{}").toString("base64")],
      ["02", "action", Buffer.from("{}").toString("base64")],
    ]);
  });

  test("a failed saga shows its rollback reason and branch statuses", async () => {
    const { transaction, branches } = await dtx.query("r-fail");
    expect(transaction.status).toBe("failed");
    expect(transaction.rollback_reason).toContain("Insufficient balance");
    expect(typeof transaction.rollback_time).toBe("string");
    expect(branches.map((b) => b.status)).toEqual(["succeed", "succeed", "succeed", "failed"]);
  });
});

describe("GET /api/dtmsvr/all", () => {
  test("lists newest first; limit 1 pages with next_position until it is empty", async () => {
    const full = await all();
    const gids = full.transactions.map((t) => t.gid);
    expect(gids.slice(-seeded.length)).toEqual(seeded.map(([g]) => g).reverse());
    expect(full.next_position).toBe("");
    const ids = full.transactions.map((t) => t.id);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);

    const first = await all("limit=1");
    expect(first.transactions.map((t) => t.gid)).toEqual([gids[0]]);
    expect(typeof first.next_position).toBe("string");
    expect(first.next_position).not.toBe("");
    const second = await all(`limit=1&position=${first.next_position}`);
    expect(second.transactions.map((t) => t.gid)).toEqual([gids[1]]);

    const seen: string[] = [];
    let position = "";
    for (let i = 0; i <= gids.length + 1; i++) {
      const page = await all(`limit=2${position ? `&position=${position}` : ""}`);
      seen.push(...page.transactions.map((t) => t.gid));
      position = page.next_position;
      if (position === "") break;
    }
    expect(position).toBe("");
    expect(seen).toEqual(gids);
  });

  test("filters by status and transType", async () => {
    const failed = await all("status=failed");
    expect(failed.transactions.map((t) => t.gid)).toEqual(["r-fail"]);
    const running = await all("status=submitted");
    expect(running.transactions.map((t) => t.gid)).toEqual(["r-running"]);
    const succeed = await all("status=succeed&limit=1000");
    expect(succeed.transactions.every((t) => t.status === "succeed")).toBe(true);
    expect(succeed.transactions.map((t) => t.gid)).toEqual(
      expect.arrayContaining(["r-ok-1", "r-ok-2", "r-grpc"]),
    );
    const sagas = await all("transType=saga");
    expect(sagas.transactions.map((t) => t.gid)).toEqual((await all()).transactions.map((t) => t.gid));
    expect((await all("transType=tcc")).transactions).toEqual([]);
    expect((await all("transType=saga&status=failed")).transactions.map((t) => t.gid)).toEqual(["r-fail"]);
    const paged = await all("status=succeed&limit=1");
    expect(paged.transactions).toHaveLength(1);
    const next = await all(`status=succeed&limit=1&position=${paged.next_position}`);
    expect(next.transactions).toHaveLength(1);
    expect(next.transactions[0].status).toBe("succeed");
    expect(next.transactions[0].gid).not.toBe(paged.transactions[0].gid);
  });

  test("gid looks up one transaction (other filters ignored, as dtm)", async () => {
    expect((await all("gid=r-ok-1&status=failed")).transactions.map((t) => t.gid)).toEqual(["r-ok-1"]);
    expect(await all("gid=no-such-gid")).toEqual({ transactions: [], next_position: "" });
  });

  test("createTimeStart/createTimeEnd in epoch milliseconds", async () => {
    const everything = (await all()).transactions.map((t) => t.gid);
    const now = Date.now();
    const hour = 3_600_000;
    const around = await all(`createTimeStart=${now - hour}&createTimeEnd=${now + hour}`);
    expect(around.transactions.map((t) => t.gid)).toEqual(everything);
    expect((await all(`createTimeStart=${now - 2 * hour}&createTimeEnd=${now - hour}`)).transactions).toEqual(
      [],
    );
    expect((await all(`createTimeEnd=${now - hour}`)).transactions).toEqual([]);
    expect((await all(`createTimeStart=${now + hour}`)).transactions).toEqual([]);

    // a window around one row's create_time holds that row
    const row = (await dtx.query("r-ok-2")).transaction;
    const at = Date.parse(row.create_time);
    const window = await all(`createTimeStart=${at - 1000}&createTimeEnd=${at + 1000}`);
    expect(window.transactions.map((t) => t.gid)).toContain("r-ok-2");
    const before = await all(`createTimeEnd=${at - 60_000}`);
    expect(before.transactions.map((t) => t.gid)).not.toContain("r-ok-2");
  });

  test("rows have the query route's shape", async () => {
    const listed = (await all("gid=r-shape")).transactions[0];
    expect(listed).toEqual((await dtx.query("r-shape")).transaction);
  });

  test("bad paging parameters are errors naming the parameter", async () => {
    for (const [query, field] of [
      ["limit=0", "limit"],
      ["limit=x", "limit"],
      ["position=abc", "position"],
      ["createTimeStart=yesterday", "createTimeStart"],
    ]) {
      const res = await dtx.get(`/api/dtmsvr/all?${query}`);
      expect([query, res.status]).toEqual([query, 400]);
      expect(res.body.message).toContain(field);
    }
  });
});

describe("gRPC", () => {
  test("dtmgimp.Dtm/NewGid returns a fresh gid", async () => {
    const client = dtm();
    const a = await client.newGid({});
    const b = await client.newGid({});
    expect(a.Gid).toMatch(GID);
    expect(b.Gid).toMatch(GID);
    expect(a.Gid).not.toBe(b.Gid);
  });

  test("dtmgimp.Dtm/NewGid over @grpc/grpc-js (what dtm's SDKs speak)", async () => {
    const client = new grpcjs.Client(dtx.grpcTarget, grpcjs.credentials.createInsecure());
    try {
      const reply = await unary(client, "/dtmgimp.Dtm/NewGid");
      expect(reply).toBeInstanceOf(Buffer);
      // DtmGidReply: field 1 (tag 0x0a), length 22, the gid
      const buf = reply as Buffer;
      expect([buf[0], buf[1]]).toEqual([0x0a, 22]);
      expect(buf.subarray(2).toString()).toMatch(GID);
    } finally {
      client.close();
    }
  });

  test("an unknown service or method → UNIMPLEMENTED", async () => {
    const client = new grpcjs.Client(dtx.grpcTarget, grpcjs.credentials.createInsecure());
    try {
      for (const path of [
        "/no.Such/Method",
        "/dtmgimp.Dtm/NoSuchMethod",
        "/dtx.v1.CoordinatorService/Nope",
      ]) {
        const err = await unary(client, path);
        expect([path, (err as grpcjs.ServiceError).code]).toEqual([path, grpcjs.status.UNIMPLEMENTED]);
      }
    } finally {
      client.close();
    }
  });
});

function unary(client: grpcjs.Client, path: string): Promise<Buffer | grpcjs.ServiceError> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      (x: Buffer) => x,
      (x: Buffer) => x,
      Buffer.alloc(0),
      { deadline: Date.now() + 5000 },
      (err, value) => resolve(err ?? (value as Buffer)),
    );
  });
}

describe("a second configured port", () => {
  test("serves the same API over the same store", async () => {
    const [p0, p1] = dtx.app.ports;
    expect(p1).toEqual(expect.any(Number));
    expect(p1).not.toBe(p0);
    const base1 = `http://127.0.0.1:${p1}`;

    expect(await call("GET", `${base1}/api/ping`)).toEqual({ status: 200, body: { msg: "pong" } });
    expect((await call("GET", `${base1}/api/dtmsvr/newGid`)).body).toEqual({
      gid: expect.stringMatching(GID),
      dtm_result: "SUCCESS",
    });
    const q = await call("GET", `${base1}/api/dtmsvr/query?gid=r-ok-1`);
    expect(q.body).toEqual(await dtx.query("r-ok-1"));

    // a saga submitted on the second port is visible on the first
    const res = await request(`${base1}/api/dtmsvr/submit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(sagaBody("r-port2", { wait_result: true })),
    });
    expect([res.statusCode, await res.body.json()]).toEqual([200, { dtm_result: "SUCCESS" }]);
    expect(await dtx.status("r-port2")).toBe("succeed");

    // dtm's gRPC and the native API on the second port
    expect((await dtm(p1).newGid({})).Gid).toMatch(GID);
    const m = new Http2SessionManager(base1);
    managers.push(m);
    const native = createClient(
      CoordinatorService,
      createGrpcTransport({ baseUrl: base1, sessionManager: m }),
    );
    const t = (await native.getTransaction({ gid: "r-port2" })).transaction;
    expect(t?.status).toBe(TransactionStatus.SUCCEED);
    const err = await native.getTransaction({ gid: "nope" }).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.NotFound);
    const rest = await call("GET", `${base1}/v1/transactions/r-port2`);
    expect(rest.body.transaction.status).toBe("TRANSACTION_STATUS_SUCCEED");
    expect((await call("GET", `${base1}/nope`)).status).toBe(404);
  });
});
