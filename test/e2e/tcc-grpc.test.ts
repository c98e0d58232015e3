/**
 * TCC end to end over dtm's gRPC API: the gRPC variants of scenarios 24, 25, 27, 29 and 31 of §10.3 (dtm's
 * tcc_grpc_test.go, tcc_grpc_cover_test.go). The AP calls `dtmgimp.Dtm/Prepare`, `RegisterBranch` (URLs in
 * `Data`, the protobuf message in `BusiPayload`), the try over gRPC with `dtm-*` metadata, then `Submit` or
 * `Abort`; the coordinator calls confirm and cancel over gRPC with the registered message and metadata.
 */
import { Code } from "@connectrpc/connect";
import { BranchServices, type BranchCall } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, summary } from "./saga-helpers";
import { ApTrans, GoGrpcAp, TCC_CANCELLED_RETRIED, TCC_CONFIRMED } from "./two-phase-ap";

let dtx: TestCoordinator;
let rm: BranchServices;
let ap: GoGrpcAp;

// protobuf-encoded busi requests (amount 30, user 1 / 2), as a gRPC AP would send them
const OUT = Uint8Array.from([0x08, 0x1e, 0x10, 0x01]);
const IN = Uint8Array.from([0x08, 0x1e, 0x10, 0x02]);

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  ap = new GoGrpcAp(dtx, rm);
  // scenario 27: branch 02's try registers 0201 over gRPC with the dtm-gid and dtm-branch_id it got
  rm.onCall("TransInTccNested", async (call) => {
    const t = new ApTrans(call.headers["dtm-gid"]!);
    const branchId = `${call.headers["dtm-branch_id"]}01`;
    await ap.dtm.registerBranch({
      Gid: t.gid,
      TransType: "tcc",
      BranchID: branchId,
      BusiPayload: IN,
      Data: { confirm: rm.grpcUrl("TransInConfirm"), cancel: rm.grpcUrl("TransInRevert") },
    });
    const tried = await ap.invoke(rm.grpcUrl("TransInTry"), IN, t, branchId, "tcc", "try");
    if (tried.status !== 0) throw new Error(tried.body);
  });
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  ap?.close();
  await rm?.close();
  await dtx?.close();
});

async function transfer(t: ApTrans, inTry = "TransInTry"): Promise<void> {
  await ap.tccBranch(t, OUT, "TransOutTry", rm.grpcUrl("TransOutConfirm"), rm.grpcUrl("TransOutRevert"));
  await ap.tccBranch(t, IN, inTry, rm.grpcUrl("TransInConfirm"), rm.grpcUrl("TransInRevert"));
}

/** The coordinator's confirm/cancel calls: gRPC, the registered message, `dtm-*` metadata, `headers`. */
function expectPhaseTwoCalls(calls: BranchCall[], gid: string, headers: Record<string, string> = {}): void {
  for (const c of calls.filter((x) => x.op !== "try")) {
    expect({
      transport: c.transport,
      gid: c.headers["dtm-gid"],
      transType: c.headers["dtm-trans_type"],
      body: Buffer.from(c.body).toString("hex"),
    }).toEqual({
      transport: "grpc",
      gid,
      transType: "tcc",
      body: Buffer.from(c.path.includes("TransOut") ? OUT : IN).toString("hex"),
    });
    for (const [k, v] of Object.entries(headers)) expect(c.headers[k]).toBe(v);
  }
}

test("gRPC 24: all OK → succeed, [P,S,P,S], protocol grpc; confirms 02 then 01", async () => {
  const gid = freshGid("tcc-grpc-normal");
  const out = await ap.global(gid, "tcc", {}, (t) => transfer(t));
  expect(out.submit).toEqual({ status: 0, body: "" });
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  expect((await dtx.query(gid)).transaction.protocol).toBe("grpc");
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual(TCC_CONFIRMED);
  expectPhaseTwoCalls(calls, gid);
});

test("gRPC 25: try 02 ABORTED → Abort with the gRPC error as reason; cancel ONG×1; cron → failed, [S,P,S,P]", async () => {
  const gid = freshGid("tcc-grpc-rollback");
  rm.script("TransInTry", "FAIL");
  rm.script("TransOutRevert", "ONG");
  const out = await ap.global(gid, "tcc", {}, (t) => transfer(t));
  expect(out.abort).toEqual({ status: 0, body: "" });
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "aborting", ["P", "P", "S", "P"]);
  await dtx.cron();
  await expectSaga(dtx, gid, "failed", ["S", "P", "S", "P"]);
  expect((await dtx.query(gid)).transaction.rollback_reason).toBe(
    `rpc error: code = ${Code.Aborted} desc = reason:Insufficient balance. FAILURE`,
  );
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual(TCC_CANCELLED_RETRIED);
  expectPhaseTwoCalls(calls, gid);
});

test("gRPC 27: a nested branch registered over gRPC is confirmed before its parent", async () => {
  const gid = freshGid("tcc-grpc-nested");
  const out = await ap.global(gid, "tcc", {}, (t) => transfer(t, "TransInTccNested"));
  expect(out.submit?.status).toBe(0);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls.filter((c) => c.op === "confirm"))).toEqual([
    ["TransInConfirm", "confirm", "0201"],
    ["TransInConfirm", "confirm", "02"],
    ["TransOutConfirm", "confirm", "01"],
  ]);
  expectPhaseTwoCalls(calls, gid);
});

test("gRPC 29: BranchHeaders and WaitResult: the confirm gets the metadata; finished when Submit answers", async () => {
  const gid = freshGid("tcc-grpc-headers");
  rm.requireHeader("TransOutHeaderYes", "test_header", "test");
  const opts = { WaitResult: true, BranchHeaders: { test_header: "test" } };
  const out = await ap.global(gid, "tcc", opts, (t) =>
    ap.tccBranch(t, OUT, "TransOutTry", rm.grpcUrl("TransOutHeaderYes"), ""),
  );
  expect(out.submit).toEqual({ status: 0, body: "" });
  await expectSaga(dtx, gid, "succeed", ["P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOutTry", "try", "01"],
    ["TransOutHeaderYes", "confirm", "01"],
  ]);
  expectPhaseTwoCalls(calls, gid, { test_header: "test" });
});

test("gRPC 31: the AP fails right after Prepare → Abort → failed, no rows, no calls", async () => {
  const gid = freshGid("tcc-grpc-panic");
  const out = await ap.global(gid, "tcc", {}, async () => {
    throw new Error("panic: the AP crashed");
  });
  expect(out.abort?.status).toBe(0);
  await dtx.settled(gid);
  const { transaction, branches } = await dtx.query(gid);
  expect([transaction.status, branches]).toEqual(["failed", []]);
  expect(callsOf(rm, gid)).toEqual([]);
});
