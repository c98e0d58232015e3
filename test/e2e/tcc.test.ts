/**
 * TCC end to end over dtm's HTTP API: scenarios 24–31 of §10.3 (dtm's tcc_test.go, tcc_old_test.go,
 * tcc_cover_test.go, tcc_barrier_test.go). A minimal AP sends the requests dtm's Go SDK sends (prepare,
 * registerBranch + try per branch, submit or abort); the branch services answer as scripted.
 */
import { BranchServices, type BranchCall } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, summary } from "./saga-helpers";
import { expectOk, GoHttpAp, send, TCC_CANCELLED_RETRIED, TCC_CONFIRMED, type ApTrans } from "./two-phase-ap";

let dtx: TestCoordinator;
let rm: BranchServices;
let ap: GoHttpAp;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  ap = new GoHttpAp(dtx, rm);
  // scenario 27: branch 02's try registers a nested branch 0201 with the `dtm`, `gid` and `branch_id` it got
  rm.onCall("TransInTccNested", async (call) => {
    const branchId = `${call.branchId}01`;
    const data = JSON.stringify(IN);
    const reg = {
      gid: call.gid,
      trans_type: "tcc",
      branch_id: branchId,
      data,
      confirm: rm.url("TransInConfirm"),
      cancel: rm.url("TransInRevert"),
    };
    await expectOk(send(`${call.query.dtm}/registerBranch`, JSON.stringify(reg), {}));
    const q = new URLSearchParams({
      dtm: call.query.dtm!,
      gid: call.gid,
      branch_id: branchId,
      trans_type: "tcc",
    });
    await expectOk(send(`${rm.url("TransInTry")}?${q}&op=try`, data, {}));
  });
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await rm?.close();
  await dtx?.close();
});

const OUT = { amount: 30, user: 1 };
const IN = { amount: 30, user: 2 };

/** Branch 01 (TransOut) and branch 02 (TransIn, or `inTry`), as dtm's TCC tests register them. */
async function transfer(t: ApTrans, inTry = "TransInTry"): Promise<void> {
  await ap.tccBranch(t, OUT, "TransOutTry", rm.url("TransOutConfirm"), rm.url("TransOutRevert"));
  await ap.tccBranch(t, IN, inTry, rm.url("TransInConfirm"), rm.url("TransInRevert"));
}

/**
 * The coordinator's calls (confirm/cancel) as §4.2 describes them: POST with the registered data as body,
 * the query parameters, `content-type: application/json`, and `headers`.
 */
function expectPhaseTwoCalls(calls: BranchCall[], gid: string, headers: Record<string, string> = {}): void {
  for (const c of calls.filter((x) => x.op !== "try")) {
    expect({
      method: c.method,
      query: [c.gid, c.transType],
      contentType: c.headers["content-type"],
      body: c.body.toString(),
    }).toEqual({
      method: "POST",
      query: [gid, "tcc"],
      contentType: "application/json",
      body: JSON.stringify(c.path.includes("TransOut") ? OUT : IN),
    });
    for (const [k, v] of Object.entries(headers)) expect(c.headers[k]).toBe(v);
  }
}

test("24: two branches, all OK → succeed, [P,S,P,S]; confirms from the last registered to the first", async () => {
  const gid = freshGid("tcc-normal");
  const out = await ap.global(gid, "tcc", {}, (t) => transfer(t));
  expect(out.submit).toEqual({ status: 200, body: '{"dtm_result":"SUCCESS"}' });
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual(TCC_CONFIRMED);
  expectPhaseTwoCalls(calls, gid);
  expect((await dtx.query(gid)).transaction.rollback_reason).toBeUndefined();
});

test("25: try 02 FAIL → abort with the AP's error; cancel 01 ONG×1 → aborting; cron → failed, [S,P,S,P]", async () => {
  const gid = freshGid("tcc-rollback");
  rm.script("TransInTry", "FAIL");
  rm.script("TransOutRevert", "ONG");
  const out = await ap.global(gid, "tcc", {}, (t) => transfer(t));
  expect(out.error?.message).toContain("FAILURE");
  expect(out.abort).toEqual({ status: 200, body: '{"dtm_result":"SUCCESS"}' });
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "aborting", ["P", "P", "S", "P"]);

  expect(await dtx.cron()).toContain(gid);
  await expectSaga(dtx, gid, "failed", ["S", "P", "S", "P"]);
  const { transaction } = await dtx.query(gid);
  expect(transaction.rollback_reason).toBe(out.error!.message);
  expect(transaction.rollback_reason).toContain("Insufficient balance");
  const calls = callsOf(rm, gid);
  // cancel 02 is called although its try failed; cancels run from the last registered
  expect(summary(calls)).toEqual(TCC_CANCELLED_RETRIED);
  expectPhaseTwoCalls(calls, gid);
});

test("26: branch 1 tried, then the timeout (cron +300 s) → failed, [S,P]; then registerBranch 409, abort 409", async () => {
  const gid = freshGid("tcc-timeout");
  const out = await ap.global(gid, "tcc", {}, async (t) => {
    await ap.tccBranch(t, OUT, "TransOutTry", rm.url("TransOutConfirm"), rm.url("TransOutRevert"));
    expect(await dtx.cron({ forwardMs: 300_000 })).toContain(gid);
    await expectSaga(dtx, gid, "failed", ["S", "P"]);
    await ap.tccBranch(t, IN, "TransInTry", rm.url("TransInConfirm"), rm.url("TransInRevert"));
  });
  expect(out.error?.message).toBe(
    `409 {"dtm_result":"FAILURE","message":"no trans with gid: ${gid} status: prepared found. FAILURE"}`,
  );
  expect(out.abort).toEqual({
    status: 409,
    body: JSON.stringify({
      dtm_result: "FAILURE",
      message: "trans type: 'tcc' current status 'failed', cannot abort. FAILURE",
    }),
  });
  const { transaction } = await dtx.query(gid);
  expect(transaction.rollback_reason).toMatch(/^Timeout after \d+ seconds$/);
  // the server's default timeout applied (35 s), and the reason names it
  expect(transaction.rollback_reason).toBe("Timeout after 35 seconds");
  await expectSaga(dtx, gid, "failed", ["S", "P"]);
  expect(summary(callsOf(rm, gid))).toEqual([
    ["TransOutTry", "try", "01"],
    ["TransOutRevert", "cancel", "01"],
  ]);
});

test("26b: a timeout_to_fail of its own times out after it and is named", async () => {
  const gid = freshGid("tcc-own-timeout");
  await expectOk(ap.post("prepare", ap.body(gid, "tcc", { timeout_to_fail: 60 })));
  expect(await dtx.cron({ forwardMs: 30_000 })).toContain(gid);
  expect(await dtx.status(gid)).toBe("prepared");
  expect(await dtx.cron({ forwardMs: 61_000, lookAheadMs: 0 })).toContain(gid);
  expect((await dtx.query(gid)).transaction).toMatchObject({
    status: "failed",
    rollback_reason: "Timeout after 60 seconds",
  });
});

test("27: branch 02's try registers nested 0201 → six rows, succeed; confirms run 0201, 02, 01", async () => {
  const gid = freshGid("tcc-nested");
  const out = await ap.global(gid, "tcc", {}, (t) => transfer(t, "TransInTccNested"));
  expect(out.submit?.status).toBe(200);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S", "P", "S"]);
  expect((await dtx.query(gid)).branches.map((b) => `${b.branch_id}/${b.op}`)).toEqual([
    "01/cancel",
    "01/confirm",
    "02/cancel",
    "02/confirm",
    "0201/cancel",
    "0201/confirm",
  ]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOutTry", "try", "01"],
    ["TransInTccNested", "try", "02"],
    ["TransInTry", "try", "0201"],
    ["TransInConfirm", "confirm", "0201"],
    ["TransInConfirm", "confirm", "02"],
    ["TransOutConfirm", "confirm", "01"],
  ]);
  expectPhaseTwoCalls(calls, gid);
});

test("27b: nested branches are cancelled before their parent", async () => {
  const gid = freshGid("tcc-nested-abort");
  const out = await ap.global(gid, "tcc", {}, async (t) => {
    await transfer(t, "TransInTccNested");
    throw new Error("the AP gives up. FAILURE");
  });
  expect(out.abort?.status).toBe(200);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "failed", ["S", "P", "S", "P", "S", "P"]);
  expect(summary(callsOf(rm, gid).filter((c) => c.op === "cancel"))).toEqual([
    ["TransInRevert", "cancel", "0201"],
    ["TransInRevert", "cancel", "02"],
    ["TransOutRevert", "cancel", "01"],
  ]);
});

describe("28: branches answering 200 with dtm's old result bodies", () => {
  const old = (result: string) => ({ status: 200, body: JSON.stringify({ dtm_result: result }) });

  test("SUCCESS bodies → as 24", async () => {
    const gid = freshGid("tcc-old-ok");
    rm.script("TransOutConfirm", old("SUCCESS"));
    rm.script("TransInConfirm", old("SUCCESS"));
    expect((await ap.global(gid, "tcc", {}, (t) => transfer(t))).submit?.status).toBe(200);
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  });

  test("a FAILURE body from a try aborts; an ONGOING body from a cancel is retried → as 25", async () => {
    const gid = freshGid("tcc-old-rollback");
    rm.script("TransInTry", old("FAILURE"));
    rm.script("TransOutRevert", old("ONGOING"));
    const out = await ap.global(gid, "tcc", {}, (t) => transfer(t));
    expect(out.error?.message).toBe('200 {"dtm_result":"FAILURE"}');
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "aborting", ["P", "P", "S", "P"]);
    await dtx.cron();
    await expectSaga(dtx, gid, "failed", ["S", "P", "S", "P"]);
    expect((await dtx.query(gid)).transaction.rollback_reason).toContain("FAILURE");
  });

  test("a confirm answering FAILURE (409 or body) is retried, never turned into a rollback", async () => {
    const gid = freshGid("tcc-confirm-fail");
    rm.script("TransInConfirm", "FAIL", old("FAILURE"));
    await ap.global(gid, "tcc", {}, (t) => transfer(t));
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "submitted", ["P", "P", "P", "P"]);
    const interval = (await dtx.query(gid)).transaction.next_cron_interval;
    expect(interval).toBe(20); // FAILURE here counts as an error: the interval doubles
    await dtx.cron({ lookAheadMs: 3_600_000 });
    await dtx.cron({ lookAheadMs: 3_600_000 });
    await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
    expect(callsOf(rm, gid).filter((c) => c.op === "cancel")).toEqual([]);
  });
});

test("29: branch_headers and wait_result; empty confirm and cancel URLs → succeed, [P,S], no call", async () => {
  const gid = freshGid("tcc-headers");
  rm.requireHeader("TransOutHeaderYes", "test_header", "test");
  const opts = { wait_result: true, branch_headers: { test_header: "test" } };
  const out = await ap.global(gid, "tcc", opts, (t) => ap.tccBranch(t, OUT, "TransOutHeaderYes", "", ""));
  // wait_result: the transaction is finished when submit answers
  expect(out.submit).toEqual({ status: 200, body: '{"dtm_result":"SUCCESS"}' });
  await expectSaga(dtx, gid, "succeed", ["P", "S"]);
  expect(summary(callsOf(rm, gid))).toEqual([["TransOutHeaderYes", "try", "01"]]);
});

test("29b: branch_headers are sent on every confirm, also from a later pass", async () => {
  const gid = freshGid("tcc-headers-cron");
  rm.requireHeader("TransOutConfirmHeader", "test_header", "test");
  rm.script("TransOutConfirmHeader", "ONG");
  const opts = { wait_result: true, branch_headers: { test_header: "test" } };
  const out = await ap.global(gid, "tcc", opts, (t) =>
    ap.tccBranch(t, OUT, "TransOutTry", rm.url("TransOutConfirmHeader"), rm.url("TransOutRevert")),
  );
  expect(out.submit?.status).toBe(409); // wait_result on an unfinished transaction: dtm's 409
  await expectSaga(dtx, gid, "submitted", ["P", "P"]);
  await dtx.cron();
  await expectSaga(dtx, gid, "succeed", ["P", "S"]);
  const confirms = callsOf(rm, gid).filter((c) => c.op === "confirm");
  expect(confirms).toHaveLength(2);
  expectPhaseTwoCalls(confirms, gid, { test_header: "test" });
});

test("30: a branch registered without its try; concurrent recovery passes cancel it; a late try changes nothing", async () => {
  const gid = freshGid("tcc-disorder");
  await expectOk(ap.post("prepare", ap.body(gid, "tcc")));
  const reg = {
    gid,
    trans_type: "tcc",
    branch_id: "01",
    data: JSON.stringify(OUT),
    confirm: rm.url("TransOutConfirm"),
    cancel: rm.url("TransOutRevert"),
  };
  await expectOk(ap.post("registerBranch", reg));
  // the try is lost in the network; the timeout comes first, seen by two recovery passes at once
  await Promise.all([dtx.cron({ forwardMs: 300_000 }), dtx.cron({ forwardMs: 300_000 })]);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "failed", ["S", "P"]);
  const cancels = callsOf(rm, gid);
  expect(cancels.length).toBeGreaterThanOrEqual(1); // at least once: the branch's barrier makes repeats harmless
  expect(new Set(summary(cancels).map((c) => c.join(" ")))).toEqual(new Set(["TransOutRevert cancel 01"]));
  // the late try reaches the branch (its barrier answers it without effect); the coordinator is done
  const q = new URLSearchParams({ dtm: ap.dtm, gid, branch_id: "01", trans_type: "tcc", op: "try" });
  expect((await send(`${rm.url("TransOutTry")}?${q}`, JSON.stringify(OUT), {})).status).toBe(200);
  expect((await ap.post("submit", ap.body(gid, "tcc"))).status).toBe(409);
  await expectSaga(dtx, gid, "failed", ["S", "P"]);
});

test("31: the AP fails right after prepare → abort → failed, no rows, no calls", async () => {
  const gid = freshGid("tcc-panic");
  const out = await ap.global(gid, "tcc", {}, async () => {
    throw new Error("panic: the AP crashed");
  });
  expect(out.abort?.status).toBe(200);
  await dtx.settled(gid);
  const { transaction, branches } = await dtx.query(gid);
  expect([transaction.status, transaction.rollback_reason, branches]).toEqual([
    "failed",
    "panic: the AP crashed",
    [],
  ]);
  expect(callsOf(rm, gid)).toEqual([]);
});

test("a duplicate submit of a still-submitted tcc confirms from the stored rows (dtm would answer succeed without confirming)", async () => {
  const gid = freshGid("tcc-resubmit");
  rm.script("TransOutConfirm", "ONG");
  await ap.global(gid, "tcc", {}, (t) => transfer(t));
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "submitted", ["P", "P", "P", "S"]);
  expect(await ap.post("submit", ap.body(gid, "tcc", { wait_result: true }))).toEqual({
    status: 200,
    body: '{"dtm_result":"SUCCESS"}',
  });
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  expect(summary(callsOf(rm, gid).filter((c) => c.op === "confirm"))).toEqual([
    ["TransInConfirm", "confirm", "02"],
    ["TransOutConfirm", "confirm", "01"],
    ["TransOutConfirm", "confirm", "01"],
  ]);
});

test("the statements of a TCC transaction: one per registration besides its read, a submit's move and final write", async () => {
  const gid = freshGid("tcc-statements");
  const statements: string[] = [];
  const stop = dtx.app.store.onStatement((e) => statements.push(`${e.name} ${e.rows}`));
  try {
    await ap.global(gid, "tcc", { wait_result: true }, (t) => transfer(t));
  } finally {
    stop();
  }
  const registration = ["findTrans 1", "addBranches 1"];
  expect(statements).toEqual([
    "insertTrans 1", // prepare
    ...registration,
    ...registration,
    "insertTrans 0", // submit: the gid is taken
    "findTrans 1",
    "changeStatus 1", // prepared → submitted, leased
    "findBranches 4",
    "savePass 1", // both confirms and `succeed`
  ]);
});
