/**
 * TCC and XA through the native API (`dtx.v1.CoordinatorService`): BeginTcc / BeginXa, RegisterTccBranch /
 * RegisterXaBranch, SubmitTransaction, AbortTransaction over gRPC and over REST (as curl calls it), and the
 * transactions as GetTransaction and ListTransactions show them.
 */
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { request } from "undici";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { BranchStatus, TransactionKind, TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { failureOf } from "../support/failure-of";
import { callsOf, dropLeftoverScripts, summary } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;
let api: Client<typeof CoordinatorService>;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  sessions = new Http2SessionManager(dtx.base);
  api = createClient(
    CoordinatorService,
    createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }),
  );
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  sessions?.abort();
  await rm?.close();
  await dtx?.close();
});

/** A REST call as curl makes it: JSON text in, status and parsed JSON out. */
async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await request(dtx.base + path, {
    method: method as "GET",
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

describe("over gRPC", () => {
  test("a TCC transfer: begin, register two branches, submit → confirmed last first; shown typed", async () => {
    const { gid } = await api.beginTcc({ options: { timeoutToFail: { seconds: 60n } } });
    expect(gid).not.toBe("");
    for (const [id, name] of [
      ["01", "TransOut"],
      ["02", "TransIn"],
    ] as const) {
      await api.registerTccBranch({
        gid,
        branchId: id,
        confirm: rm.url(`${name}Confirm`),
        cancel: rm.url(`${name}Revert`),
        payload: Buffer.from(`{"branch":"${id}"}`),
      });
    }
    const submitted = await api.submitTransaction({ gid, waitResult: true });
    expect([submitted.gid, submitted.status, submitted.rollbackReason]).toEqual([
      gid,
      TransactionStatus.SUCCEED,
      "",
    ]);
    expect(summary(callsOf(rm, gid))).toEqual([
      ["TransInConfirm", "confirm", "02"],
      ["TransOutConfirm", "confirm", "01"],
    ]);

    const { transaction } = await api.getTransaction({ gid });
    expect(transaction?.kind).toBe(TransactionKind.TCC);
    expect(transaction?.options?.timeoutToFail?.seconds).toBe(60n);
    expect(transaction?.definition.case).toBe("tcc");
    const tcc = transaction?.definition.case === "tcc" ? transaction.definition.value : undefined;
    expect(
      tcc?.branches.map((b) => [b.branchId, b.confirm, b.cancel, Buffer.from(b.payload).toString()]),
    ).toEqual([
      ["01", rm.url("TransOutConfirm"), rm.url("TransOutRevert"), '{"branch":"01"}'],
      ["02", rm.url("TransInConfirm"), rm.url("TransInRevert"), '{"branch":"02"}'],
    ]);
    expect(transaction?.branches.map((b) => [b.branchId, b.op, b.status])).toEqual([
      ["01", "cancel", BranchStatus.PREPARED],
      ["01", "confirm", BranchStatus.SUCCEED],
      ["02", "cancel", BranchStatus.PREPARED],
      ["02", "confirm", BranchStatus.SUCCEED],
    ]);

    const listed = await api.listTransactions({ kind: TransactionKind.TCC, pageSize: 1000 });
    expect(listed.transactions.find((t) => t.gid === gid)?.status).toBe(TransactionStatus.SUCCEED);
    const sagas = await api.listTransactions({ kind: TransactionKind.SAGA, pageSize: 1000 });
    expect(sagas.transactions.some((t) => t.gid === gid)).toBe(false);
  });

  test("abort with a reason cancels every registered branch; then the transaction is closed", async () => {
    const { gid } = await api.beginTcc({ gid: `native-abort-${Date.now()}` });
    await api.registerTccBranch({
      gid,
      branchId: "01",
      confirm: rm.url("C"),
      cancel: rm.url("TransOutRevert"),
    });
    const aborted = await api.abortTransaction({ gid, rollbackReason: "the try failed", waitResult: true });
    expect([aborted.status, aborted.rollbackReason]).toEqual([TransactionStatus.FAILED, "the try failed"]);
    expect(summary(callsOf(rm, gid))).toEqual([["TransOutRevert", "cancel", "01"]]);

    const cases: Array<[() => Promise<unknown>, Code, string]> = [
      [
        () => api.registerTccBranch({ gid, branchId: "02" }),
        Code.FailedPrecondition,
        "status: prepared found",
      ],
      [
        () => api.submitTransaction({ gid }),
        Code.FailedPrecondition,
        "current status 'failed', cannot sumbmit",
      ],
      [() => api.abortTransaction({ gid }), Code.FailedPrecondition, "current status 'failed', cannot abort"],
      [
        () => api.submitTransaction({ gid: "native-none" }),
        Code.NotFound,
        'no transaction with gid "native-none"',
      ],
      [
        () => api.abortTransaction({ gid: "native-none" }),
        Code.NotFound,
        'no transaction with gid "native-none"',
      ],
    ];
    for (const [call, code, text] of cases) {
      const err = await failureOf(call());
      expect([err.code, err.rawMessage]).toEqual([code, expect.stringContaining(text)]);
    }
  });

  test("bad input names the request's field; nothing is written", async () => {
    const { gid } = await api.beginXa({});
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => api.registerXaBranch({ gid, branchId: "", url: rm.url("X") }), "branch_id: is required"],
      [
        () => api.registerXaBranch({ gid, branchId: "01", url: "" }),
        "url: is required (the branch's phase-2 URL)",
      ],
      [
        () => api.registerXaBranch({ gid, branchId: "01", url: "ftp://x" }),
        'url: "ftp://x" is not an http(s) URL',
      ],
      [() => api.registerTccBranch({ gid, branchId: "01" }), `gid: ${gid} is a xa transaction, not tcc`],
      [() => api.beginTcc({ gid: "bad\ngid" }), "gid: contains a control character"],
      [() => api.submitTransaction({ gid: "" }), "gid: is required"],
    ];
    for (const [call, text] of cases) {
      const err = await failureOf(call());
      expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, text]);
    }
    const { transaction } = await api.getTransaction({ gid });
    expect([transaction?.status, transaction?.branches]).toEqual([TransactionStatus.PREPARED, []]);
  });
});

describe("over REST", () => {
  test("an XA commit: POST /v1/xa, /v1/xa/{gid}/branches, /v1/transactions/{gid}:submit", async () => {
    const begun = await rest("POST", "/v1/xa", { options: { timeoutToFail: "60s" } });
    expect(begun.status).toBe(200);
    const gid: string = begun.body.gid;
    expect(
      await rest("POST", `/v1/xa/${gid}/branches`, { branchId: "01", url: rm.url("TransOutXa") }),
    ).toEqual({
      status: 200,
      body: {},
    });
    expect(
      await rest("POST", `/v1/xa/${gid}/branches`, { branchId: "02", url: rm.url("TransInXa") }),
    ).toEqual({
      status: 200,
      body: {},
    });
    expect(await rest("POST", `/v1/transactions/${gid}:submit`, { waitResult: true })).toEqual({
      status: 200,
      body: { gid, status: "TRANSACTION_STATUS_SUCCEED" },
    });
    const calls = callsOf(rm, gid);
    expect(calls.map((c) => [c.path, c.method, c.op, c.branchId, c.body.length])).toEqual([
      ["/api/busi/TransOutXa", "POST", "commit", "01", 0],
      ["/api/busi/TransInXa", "POST", "commit", "02", 0],
    ]);
    const got = await rest("GET", `/v1/transactions/${gid}`);
    expect(got.body.transaction).toMatchObject({
      gid,
      kind: "TRANSACTION_KIND_XA",
      status: "TRANSACTION_STATUS_SUCCEED",
      xa: {
        branches: [
          { branchId: "01", url: rm.url("TransOutXa") },
          { branchId: "02", url: rm.url("TransInXa") },
        ],
      },
    });
  });

  test("an XA rollback: abort with a reason; a rollback answering ONGOING leaves it aborting", async () => {
    const { body } = await rest("POST", "/v1/xa", {});
    const gid: string = body.gid;
    await rest("POST", `/v1/xa/${gid}/branches`, { branchId: "01", url: rm.url("TransOutXa") });
    rm.script("TransOutXa", "ONG");
    expect(
      await rest("POST", `/v1/transactions/${gid}:abort`, { rollbackReason: "stock", waitResult: true }),
    ).toEqual({
      status: 200,
      body: { gid, status: "TRANSACTION_STATUS_ABORTING", rollbackReason: "stock" },
    });
    await dtx.cron();
    expect((await rest("GET", `/v1/transactions/${gid}`)).body.transaction.status).toBe(
      "TRANSACTION_STATUS_FAILED",
    );
    expect(summary(callsOf(rm, gid))).toEqual([
      ["TransOutXa", "rollback", "01"],
      ["TransOutXa", "rollback", "01"],
    ]);
  });

  test("a TCC branch's payload is base64 in JSON; errors use grpc-gateway's statuses", async () => {
    const { body } = await rest("POST", "/v1/tcc", {});
    const gid: string = body.gid;
    const payload = Buffer.from('{"amount":30}').toString("base64");
    const reg = {
      branchId: "01",
      confirm: rm.url("TransOutConfirm"),
      cancel: rm.url("TransOutRevert"),
      payload,
    };
    expect((await rest("POST", `/v1/tcc/${gid}/branches`, reg)).status).toBe(200);
    expect(await rest("POST", `/v1/tcc/${gid}/branches`, reg)).toEqual({
      status: 409,
      body: { code: Code.AlreadyExists, message: `branch 01 of ${gid} is registered already`, details: [] },
    });
    expect((await rest("POST", `/v1/tcc/${gid}/branches`, { branchId: "02", confirm: "x" })).status).toBe(
      400,
    );
    expect((await rest("POST", "/v1/transactions/native-rest-none:submit", {})).status).toBe(404);
    await rest("POST", `/v1/transactions/${gid}:submit`, { waitResult: true });
    expect(callsOf(rm, gid).map((c) => c.body.toString())).toEqual(['{"amount":30}']);
    expect((await rest("POST", `/v1/transactions/${gid}:submit`, {})).status).toBe(400); // FAILED_PRECONDITION
  });
});
