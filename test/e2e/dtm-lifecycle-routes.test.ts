/**
 * dtm's generic lifecycle routes other than submit, end to end over HTTP and gRPC: prepare, abort,
 * registerBranch and its aliases registerTccBranch / registerXaBranch (§2.3–2.4 and §3 of the
 * protocol): envelopes, status codes and dtm's texts, the flat all-strings registerBranch body, and
 * what each writes (checked through dtm's query route).
 */
import { Code, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { failureOf } from "../support/failure-of";
import { freshGid, OK } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;
let dtm: Client<typeof Dtm>;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  sessions = new Http2SessionManager(dtx.base);
  dtm = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }));
});
afterAll(async () => {
  sessions?.abort();
  await rm?.close();
  await dtx?.close();
});

const failure = (message: string) => ({ dtm_result: "FAILURE", message });

/** Each body posted to `route` is answered 400 FAILURE with a message containing its text. */
async function expectBadInput(route: string, cases: Array<[unknown, string]>): Promise<void> {
  for (const [body, message] of cases) {
    const res = await dtx.post(`/api/dtmsvr/${route}`, body);
    expect([res.status, res.body.dtm_result, res.body.message]).toEqual([
      400,
      "FAILURE",
      expect.stringContaining(message),
    ]);
  }
}

/** Rows of `gid` as `branch_id/op/status url`, in storage order. */
async function rows(gid: string): Promise<string[]> {
  return (await dtx.query(gid)).branches.map((b) => `${b.branch_id}/${b.op}/${b.status} ${b.url ?? ""}`);
}

describe("POST /api/dtmsvr/prepare", () => {
  test("creates a prepared transaction; again while prepared → 200; once finished → 409", async () => {
    const gid = freshGid("prep");
    // dtm's Go SDK body: concurrent and protocol always present
    const body = { gid, trans_type: "tcc", concurrent: false, protocol: "", timeout_to_fail: 60 };
    expect(await dtx.post("/api/dtmsvr/prepare", body)).toEqual(OK);
    const { transaction } = await dtx.query(gid);
    expect(transaction).toMatchObject({ gid, trans_type: "tcc", status: "prepared", protocol: "http" });
    expect(JSON.parse(transaction.options)).toEqual({ timeout_to_fail: 60, concurrent: false });
    expect(await dtx.post("/api/dtmsvr/prepare", body)).toEqual(OK);

    expect(await dtx.post("/api/dtmsvr/submit", body)).toEqual(OK);
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("succeed");
    expect(await dtx.post("/api/dtmsvr/prepare", body)).toEqual({
      status: 409,
      body: failure("current status 'succeed', cannot prepare. FAILURE"),
    });
  });

  test("bad input → 400 naming the field, nothing written", async () => {
    const gid = freshGid("prep-bad");
    const cases: Array<[unknown, string]> = [
      [{ trans_type: "tcc" }, "gid: is required"],
      [{ gid, trans_type: "" }, "trans_type: is required"],
      [{ gid, trans_type: "tcc", timeout_to_fail: "60" }, "timeout_to_fail: must be a non-negative integer"],
      [{ gid, trans_type: "saga" }, "trans_type: trans type: 'saga' cannot prepare"],
    ];
    await expectBadInput("prepare", cases);
    expect((await dtx.query(gid)).transaction).toBeNull();
  });
});

describe("POST /api/dtmsvr/registerBranch and its aliases", () => {
  test("tcc rows: cancel then confirm, the data as body; the Node SDK's alias and keys; xa rows", async () => {
    const gid = freshGid("reg");
    expect(await dtx.post("/api/dtmsvr/prepare", { gid, trans_type: "tcc" })).toEqual(OK);
    const go = {
      gid,
      trans_type: "tcc",
      data: '{"amount":30}',
      branch_id: "01",
      confirm: rm.url("TransOutConfirm"),
      cancel: rm.url("TransOutRevert"),
    };
    expect(await dtx.post("/api/dtmsvr/registerBranch", go)).toEqual(OK);
    // dtm's Node SDK: registerTccBranch with `try` and `status` keys, every value a string
    const node = {
      gid,
      branch_id: "02",
      trans_type: "tcc",
      status: "prepared",
      data: '{"amount":40}',
      try: rm.url("TransInTry"),
      confirm: rm.url("TransInConfirm"),
      cancel: rm.url("TransInRevert"),
    };
    expect(await dtx.post("/api/dtmsvr/registerTccBranch", node)).toEqual(OK);
    expect(await rows(gid)).toEqual([
      `01/cancel/prepared ${rm.url("TransOutRevert")}`,
      `01/confirm/prepared ${rm.url("TransOutConfirm")}`,
      `02/cancel/prepared ${rm.url("TransInRevert")}`,
      `02/confirm/prepared ${rm.url("TransInConfirm")}`,
    ]);
    const { branches } = await dtx.query(gid);
    expect(branches.map((b) => Buffer.from(b.bin_data, "base64").toString())).toEqual([
      '{"amount":30}',
      '{"amount":30}',
      '{"amount":40}',
      '{"amount":40}',
    ]);

    const xa = freshGid("reg-xa");
    expect(await dtx.post("/api/dtmsvr/prepare", { gid: xa, trans_type: "xa" })).toEqual(OK);
    // dtm's Go XA resource manager: no data key
    const xaBody = { gid: xa, trans_type: "xa", url: rm.url("TransOutXa"), branch_id: "01" };
    expect(await dtx.post("/api/dtmsvr/registerXaBranch", xaBody)).toEqual(OK);
    expect(await rows(xa)).toEqual([
      `01/rollback/prepared ${rm.url("TransOutXa")}`,
      `01/commit/prepared ${rm.url("TransOutXa")}`,
    ]);
    expect(rm.calls().filter((c) => c.gid === gid || c.gid === xa)).toEqual([]);
  });

  test("the body must be a flat object of strings → 400 otherwise, nothing written", async () => {
    const gid = freshGid("reg-bad");
    expect(await dtx.post("/api/dtmsvr/prepare", { gid, trans_type: "tcc" })).toEqual(OK);
    const base = { gid, trans_type: "tcc", branch_id: "01", confirm: rm.url("C"), cancel: rm.url("R") };
    const cases: Array<[unknown, string]> = [
      ["{not json", "body: is not valid JSON"],
      ['["a"]', "body: must be a JSON object of strings"],
      [{ ...base, branch_id: 1 }, "branch_id: must be a string, not a number"],
      [{ ...base, data: { amount: 30 } }, "data: must be a string, not an object"],
      [{ ...base, branch_id: "" }, "branch_id: is required"],
      [{ ...base, confirm: "confirm-here" }, 'confirm: "confirm-here" is not an http(s) URL'],
      [{ ...base, trans_type: "" }, "trans_type: is required"],
      [{ ...base, trans_type: "xa", url: rm.url("X") }, `trans_type: ${gid} is a tcc transaction, not xa`],
      [{ ...base, trans_type: "saga" }, "trans_type: unknow trans type: saga"],
      [{ ...base, gid: "" }, "gid: is required"],
    ];
    await expectBadInput("registerBranch", cases);
    expect(await rows(gid)).toEqual([]);
  });

  test("not prepared → 409 with dtm's text; a branch registered twice → 409", async () => {
    const missing = freshGid("reg-none");
    const body = (gid: string) => ({
      gid,
      trans_type: "tcc",
      branch_id: "01",
      confirm: rm.url("C"),
      cancel: rm.url("R"),
    });
    expect(await dtx.post("/api/dtmsvr/registerBranch", body(missing))).toEqual({
      status: 409,
      body: failure(`no trans with gid: ${missing} status: prepared found. FAILURE`),
    });
    const gid = freshGid("reg-twice");
    expect(await dtx.post("/api/dtmsvr/prepare", { gid, trans_type: "tcc" })).toEqual(OK);
    expect(await dtx.post("/api/dtmsvr/registerBranch", body(gid))).toEqual(OK);
    expect(await dtx.post("/api/dtmsvr/registerBranch", body(gid))).toEqual({
      status: 409,
      body: failure(`branch 01 of ${gid} is registered already. FAILURE`),
    });
    expect(await rows(gid)).toHaveLength(2);
  });
});

describe("POST /api/dtmsvr/abort", () => {
  test("a prepared tcc: aborting, then failed with the reason; again once failed → 409", async () => {
    const gid = freshGid("abort");
    expect(await dtx.post("/api/dtmsvr/prepare", { gid, trans_type: "tcc" })).toEqual(OK);
    const body = { gid, trans_type: "tcc", rollback_reason: "try 02 failed" };
    expect(await dtx.post("/api/dtmsvr/abort", body)).toEqual(OK);
    await dtx.settled(gid);
    expect((await dtx.query(gid)).transaction).toMatchObject({
      status: "failed",
      rollback_reason: "try 02 failed",
    });
    expect(await dtx.post("/api/dtmsvr/abort", body)).toEqual({
      status: 409,
      body: failure("trans type: 'tcc' current status 'failed', cannot abort. FAILURE"),
    });
  });

  test("a saga, another kind than stored, an unknown gid, a missing gid", async () => {
    const saga = freshGid("abort-saga");
    const sagaBody = {
      gid: saga,
      trans_type: "saga",
      steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
      payloads: ["{}"],
      wait_result: true,
    };
    expect(await dtx.post("/api/dtmsvr/submit", sagaBody)).toEqual(OK);
    expect(await dtx.post("/api/dtmsvr/abort", { gid: saga, trans_type: "saga" })).toEqual({
      status: 409,
      body: failure("trans type: 'saga' current status 'succeed', cannot abort. FAILURE"),
    });
    const xa = freshGid("abort-kind");
    expect(await dtx.post("/api/dtmsvr/prepare", { gid: xa, trans_type: "xa" })).toEqual(OK);
    expect(await dtx.post("/api/dtmsvr/abort", { gid: xa, trans_type: "tcc" })).toEqual({
      status: 409,
      body: failure("trans type: 'xa' current status 'prepared', cannot abort. FAILURE"),
    });
    expect(await dtx.status(xa)).toBe("prepared");
    const missing = freshGid("abort-none");
    expect(await dtx.post("/api/dtmsvr/abort", { gid: missing, trans_type: "tcc" })).toEqual({
      status: 404,
      body: failure(`no TransGlobal with gid: ${missing} found. FAILURE`),
    });
    const noGid = await dtx.post("/api/dtmsvr/abort", { trans_type: "tcc" });
    expect([noGid.status, noGid.body.message]).toEqual([400, "gid: is required. FAILURE"]);
  });

  test("wait_result: 200 once rolled back; ONGOING (425) while a cancel is still retried", async () => {
    const gid = freshGid("abort-wait");
    expect(await dtx.post("/api/dtmsvr/prepare", { gid, trans_type: "tcc", wait_result: true })).toEqual(OK);
    const reg = {
      gid,
      trans_type: "tcc",
      branch_id: "01",
      confirm: rm.url("C"),
      cancel: rm.url("TransOutRevert"),
    };
    expect(await dtx.post("/api/dtmsvr/registerBranch", reg)).toEqual(OK);
    rm.script("TransOutRevert", "ONG");
    // wait_result stored at prepare applies to the abort
    expect(await dtx.post("/api/dtmsvr/abort", { gid, trans_type: "tcc" })).toEqual({
      status: 425,
      body: {
        dtm_result: "ONGOING",
        message: `the rollback of ${gid} is not finished yet: it is retried. ONGOING`,
      },
    });
    expect(await dtx.status(gid)).toBe("aborting");
    // an abort of an aborting transaction drives the rollback again
    expect(await dtx.post("/api/dtmsvr/abort", { gid, trans_type: "tcc", wait_result: true })).toEqual(OK);
    expect(await dtx.status(gid)).toBe("failed");
    expect(
      rm
        .calls()
        .filter((c) => c.gid === gid)
        .map((c) => c.op),
    ).toEqual(["cancel", "cancel"]);
  });
});

describe("dtm gRPC: Prepare, RegisterBranch, Abort, Submit", () => {
  test("a tcc through the four calls; Data holds the URLs, BusiPayload the body; Op is ignored", async () => {
    const gid = freshGid("grpc-life");
    // dtm's Go SDK sends Steps "null" for tcc and xa
    await dtm.prepare({ Gid: gid, TransType: "tcc", Steps: "null" });
    await dtm.prepare({ Gid: gid, TransType: "tcc", Steps: "null" });
    await dtm.registerBranch({
      Gid: gid,
      TransType: "tcc",
      BranchID: "01",
      Op: "ignored",
      Data: { confirm: rm.grpcUrl("TransOutConfirm"), cancel: rm.grpcUrl("TransOutRevert") },
      BusiPayload: Uint8Array.from([8, 30]),
    });
    expect(await rows(gid)).toEqual([
      `01/cancel/prepared ${rm.grpcUrl("TransOutRevert")}`,
      `01/confirm/prepared ${rm.grpcUrl("TransOutConfirm")}`,
    ]);
    expect((await dtx.query(gid)).transaction.protocol).toBe("grpc");
    await dtm.submit({ Gid: gid, TransType: "tcc", Steps: "null", TransOptions: { WaitResult: true } });
    expect(await dtx.status(gid)).toBe("succeed");
    const calls = rm.calls().filter((c) => c.gid === gid);
    expect(
      calls.map((c) => [c.transport, c.path, c.op, c.branchId, Buffer.from(c.body).toString("hex")]),
    ).toEqual([["grpc", "/busi.Busi/TransOutConfirm", "confirm", "01", "081e"]]);

    const again = await failureOf(dtm.abort({ Gid: gid, TransType: "tcc", RollbackReason: "late" }));
    expect([again.code, again.rawMessage]).toEqual([
      Code.Aborted,
      "trans type: 'tcc' current status 'succeed', cannot abort",
    ]);
  });

  test("Abort rolls back with the reason; refusals are ABORTED, bad input INVALID_ARGUMENT in dtm's names", async () => {
    const gid = freshGid("grpc-abort");
    await dtm.prepare({ Gid: gid, TransType: "xa", Steps: "null" });
    const xaBranch = (branchId: string, name: string) =>
      dtm.registerBranch({ Gid: gid, TransType: "xa", BranchID: branchId, Data: { url: rm.grpcUrl(name) } });
    await xaBranch("01", "TransOutXa");
    const dup = await failureOf(xaBranch("01", "TransOutXa"));
    expect([dup.code, dup.rawMessage]).toEqual([Code.Aborted, `branch 01 of ${gid} is registered already`]);
    const bad: Array<[() => Promise<unknown>, string]> = [
      [
        () => dtm.registerBranch({ Gid: gid, TransType: "xa", BranchID: "", Data: { url: rm.grpcUrl("X") } }),
        "BranchID: is required",
      ],
      [
        () => dtm.registerBranch({ Gid: gid, TransType: "xa", BranchID: "02", Data: {} }),
        "Data.url: is required (the branch's phase-2 URL)",
      ],
      [() => dtm.registerBranch({ Gid: gid, TransType: "", BranchID: "02" }), "TransType: is required"],
      [() => dtm.abort({ Gid: "", TransType: "xa" }), "Gid: is required"],
      [
        () =>
          dtm.prepare({ Gid: gid, TransType: "xa", TransOptions: { BranchHeaders: { "bad header": "x" } } }),
        "TransOptions.BranchHeaders",
      ],
    ];
    for (const [p, message] of bad) {
      const err = await failureOf(p());
      expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, expect.stringContaining(message)]);
    }

    await dtm.abort({
      Gid: gid,
      TransType: "xa",
      RollbackReason: "rm 2 failed",
      TransOptions: { WaitResult: true },
    });
    expect((await dtx.query(gid)).transaction).toMatchObject({
      status: "failed",
      rollback_reason: "rm 2 failed",
    });
    const calls = rm.calls().filter((c) => c.gid === gid);
    expect(calls.map((c) => [c.path, c.op, c.branchId, c.body.length])).toEqual([
      ["/busi.Busi/TransOutXa", "rollback", "01", 0],
    ]);

    const late = await failureOf(xaBranch("02", "TransInXa"));
    expect([late.code, late.rawMessage]).toEqual([
      Code.Aborted,
      `no trans with gid: ${gid} status: prepared found`,
    ]);
    const missing = await failureOf(dtm.abort({ Gid: freshGid("none"), TransType: "xa" }));
    expect(missing.code).toBe(Code.NotFound);
  });
});
