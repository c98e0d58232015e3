/**
 * XA end to end: scenarios 32–37 of §10.3 over dtm's HTTP API and 32–34 over its gRPC API (dtm's
 * xa_test.go, xa_cover_test.go, xa_grpc_test.go). The AP prepares, calls each resource manager with
 * `op=action` and `phase2_url`; the resource manager registers its branch (as dtm's XaLocalTransaction
 * does) unless its local transaction fails; the AP submits or aborts; the coordinator commits or rolls
 * back with a POST and an empty body (gRPC: an empty message), the first registered first.
 */
import { BranchServices, type BranchCall } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, summary } from "./saga-helpers";
import { ApTrans, expectOk, GoGrpcAp, GoHttpAp, XaResourceManagers } from "./two-phase-ap";

let dtx: TestCoordinator;
let rm: BranchServices;
let http: GoHttpAp;
let grpc: GoGrpcAp;
let rms: XaResourceManagers;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  http = new GoHttpAp(dtx, rm);
  grpc = new GoGrpcAp(dtx, rm);
  rms = new XaResourceManagers(rm, grpc, ["TransOutXa", "TransInXa"]);
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  grpc?.close();
  await rm?.close();
  await dtx?.close();
});

/** An AP over one of dtm's APIs, with the branch bodies it sends (JSON over HTTP, protobuf over gRPC). */
interface XaAp {
  ap: () => GoHttpAp | GoGrpcAp;
  out: Uint8Array;
  in: Uint8Array;
}

const aps: Record<string, XaAp> = {
  HTTP: {
    ap: () => http,
    out: Buffer.from(JSON.stringify({ amount: 30, user: 1 })),
    in: Buffer.from(JSON.stringify({ amount: 30, user: 2 })),
  },
  gRPC: {
    ap: () => grpc,
    out: Uint8Array.from([0x08, 0x1e, 0x10, 0x01]),
    in: Uint8Array.from([0x08, 0x1e, 0x10, 0x02]),
  },
};

/** Both resource managers' action calls, as the AP makes them. */
function transfer(x: XaAp) {
  return async (t: ApTrans): Promise<void> => {
    await x.ap().xaBranch(t, x.out, "TransOutXa");
    await x.ap().xaBranch(t, x.in, "TransInXa");
  };
}

/** The AP's action calls of `transfer`. */
const ACTIONS: Array<[string, string, string]> = [
  ["TransOutXa", "action", "01"],
  ["TransInXa", "action", "02"],
];

/** Phase-2 calls: POST (gRPC: a call) with an empty body, `trans_type=xa`, `op`, at the registered URL. */
function expectPhaseTwo(calls: BranchCall[], gid: string, op: string): void {
  const phase2 = calls.filter((c) => c.op !== "action");
  expect(phase2.length).toBeGreaterThan(0);
  for (const c of phase2) {
    expect([c.method, c.gid, c.transType, c.op, c.body.length]).toEqual(["POST", gid, "xa", op, 0]);
  }
}

describe.each(Object.keys(aps))("over dtm's %s API", (api) => {
  const x = aps[api]!;
  const ok = api === "HTTP" ? 200 : 0;

  test("32: two resource managers register, the AP submits → commits first to last, succeed, [P,S,P,S]", async () => {
    const gid = freshGid("xa-normal");
    const out = await x.ap().global(gid, "xa", {}, transfer(x));
    expect(out.submit?.status).toBe(ok);
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
    const url = api === "HTTP" ? rm.url.bind(rm) : rm.grpcUrl.bind(rm);
    expect((await dtx.query(gid)).branches.map((b) => `${b.branch_id}/${b.op} ${b.url}`)).toEqual([
      `01/rollback ${url("TransOutXa")}`,
      `01/commit ${url("TransOutXa")}`,
      `02/rollback ${url("TransInXa")}`,
      `02/commit ${url("TransInXa")}`,
    ]);
    const calls = callsOf(rm, gid);
    expect(calls.every((c) => c.transport === api.toLowerCase())).toBe(true);
    expect(summary(calls)).toEqual([
      ...ACTIONS,
      ["TransOutXa", "commit", "01"],
      ["TransInXa", "commit", "02"],
    ]);
    expectPhaseTwo(calls, gid, "commit");
  });

  test("33: resource manager 2 fails locally (never registers) → abort → rollback of 1 → failed, [S,P]", async () => {
    const gid = freshGid("xa-rollback");
    rms.failLocally("TransInXa", "FAIL");
    const out = await x.ap().global(gid, "xa", {}, transfer(x));
    expect(out.error?.message).toMatch(/FAILURE|code = 10/);
    expect(out.abort?.status).toBe(ok);
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "failed", ["S", "P"]);
    const calls = callsOf(rm, gid);
    expect(summary(calls)).toEqual([...ACTIONS, ["TransOutXa", "rollback", "01"]]);
    expectPhaseTwo(calls, gid, "rollback");
  });

  test("34: the AP fails before any branch → abort → failed, no rows", async () => {
    const gid = freshGid("xa-local-error");
    const out = await x.ap().global(gid, "xa", {}, async () => {
      throw new Error("local error");
    });
    expect(out.abort?.status).toBe(ok);
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "failed", []);
    expect(callsOf(rm, gid)).toEqual([]);
  });
});

test("35: prepared, no branches, cron +300 s → failed by timeout; a submit afterwards → 409", async () => {
  const gid = freshGid("xa-timeout");
  await expectOk(http.post("prepare", http.body(gid, "xa")));
  expect(await dtx.cron({ forwardMs: 300_000 })).toContain(gid);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toMatch(/^Timeout after \d+ seconds$/);
  expect(await http.post("submit", http.body(gid, "xa"))).toEqual({
    status: 409,
    body: JSON.stringify({
      dtm_result: "FAILURE",
      message: "current status 'failed', cannot sumbmit. FAILURE",
    }),
  });
});

test("36: a look before the timeout changes nothing; a commit answering 200 ONGOING ×1 → submitted; cron → succeed", async () => {
  const gid = freshGid("xa-not-timeout");
  await expectOk(http.post("prepare", http.body(gid, "xa")));
  expect(await dtx.cron()).toContain(gid);
  expect(await dtx.status(gid)).toBe("prepared");
  rm.script("TransOutXa", "OK", { status: 200, body: '{"dtm_result":"ONGOING"}' });
  await http.xaBranch(new ApTrans(gid), aps.HTTP!.out, "TransOutXa");
  expect(await http.post("submit", http.body(gid, "xa"))).toEqual({
    status: 200,
    body: '{"dtm_result":"SUCCESS"}',
  });
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "submitted", ["P", "P"]);
  expect(await dtx.cron()).toContain(gid);
  await expectSaga(dtx, gid, "succeed", ["P", "S"]);
  expect(summary(callsOf(rm, gid))).toEqual([
    ["TransOutXa", "action", "01"],
    ["TransOutXa", "commit", "01"],
    ["TransOutXa", "commit", "01"],
  ]);
});

test("37: branch 2's database breaks → abort; rollback of 1 errors → aborting; repaired, cron +500 s → failed", async () => {
  const gid = freshGid("xa-db-error");
  rms.failLocally("TransInXa", "ERR");
  const out = await http.global(gid, "xa", {}, async (t) => {
    await http.xaBranch(t, aps.HTTP!.out, "TransOutXa");
    // the rollback of branch 1 will error too, until the database is back
    rm.script("TransOutXa", "ERR");
    await http.xaBranch(t, aps.HTTP!.in, "TransInXa");
  });
  expect(out.error?.message).toContain("500");
  expect(out.abort?.status).toBe(200);
  await dtx.settled(gid);
  await expectSaga(dtx, gid, "aborting", ["P", "P"]);
  expect(await dtx.cron({ forwardMs: 500_000, lookAheadMs: 500_000 })).toContain(gid);
  await expectSaga(dtx, gid, "failed", ["S", "P"]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOutXa", "action", "01"],
    ["TransInXa", "action", "02"],
    ["TransOutXa", "rollback", "01"],
    ["TransOutXa", "rollback", "01"],
  ]);
  expectPhaseTwo(calls, gid, "rollback");
});
