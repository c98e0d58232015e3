/**
 * The native admin service (`dtx.v1.AdminService`): listing with filters (statuses, kind, time
 * range, gid prefix) and keyset pages, get, force-stop, retry now and retry delayed — over gRPC and
 * through its REST bindings.
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { AdminService } from "../../gen/dtx/v1/admin_pb";
import { BranchOutcome, TransactionKind, TransactionStatus } from "../../gen/dtx/v1/types_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, dropLeftoverScripts, freshGid, transferBody } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;
let admin: Client<typeof AdminService>;
/** The prefix every gid of this file starts with, and the ones seeded in beforeAll. */
const P = freshGid("adm");
const seeded = { ok: `${P}-ok`, failed: `${P}-failed`, stuck: `${P}-stuck`, other: `${P}-x-ok` };

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  sessions = new Http2SessionManager(dtx.base);
  admin = createClient(AdminService, createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }));
  await dtx.post("/api/dtmsvr/submit", transferBody(rm, seeded.ok, { wait_result: true }));
  rm.script("TransIn", "FAIL");
  await dtx.post("/api/dtmsvr/submit", transferBody(rm, seeded.failed, { wait_result: true }));
  rm.script("TransOut", "ERR");
  await dtx.post("/api/dtmsvr/submit", transferBody(rm, seeded.stuck));
  await dtx.settled(seeded.stuck);
  await dtx.post("/api/dtmsvr/submit", transferBody(rm, seeded.other, { wait_result: true }));
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  sessions?.abort();
  await dtx?.close();
  await rm?.close();
});

async function codeOf(p: Promise<unknown>): Promise<[Code | undefined, string]> {
  try {
    await p;
    return [undefined, ""];
  } catch (e) {
    const err = ConnectError.from(e);
    return [err.code, err.rawMessage];
  }
}

describe("ListTransactions", () => {
  test("filters by gid prefix, statuses and kind; each row carries its last failure", async () => {
    const gids = async (req: Parameters<typeof admin.listTransactions>[0]) =>
      (await admin.listTransactions({ gidPrefix: P, ...req })).transactions.map((t) => t.gid);
    expect(await gids({})).toEqual([seeded.other, seeded.stuck, seeded.failed, seeded.ok]);
    expect(await gids({ gidPrefix: `${P}-x` })).toEqual([seeded.other]);
    expect(await gids({ statuses: [TransactionStatus.FAILED, TransactionStatus.SUBMITTED] })).toEqual([
      seeded.stuck,
      seeded.failed,
    ]);
    expect(await gids({ kind: TransactionKind.WORKFLOW })).toEqual([]);
    expect(await gids({ kind: TransactionKind.SAGA, statuses: [TransactionStatus.SUCCEED] })).toEqual([
      seeded.other,
      seeded.ok,
    ]);
    const stuck = (await admin.listTransactions({ gidPrefix: seeded.stuck })).transactions[0]!;
    expect(stuck.branches).toEqual([]);
    expect([stuck.lastFailure?.branchId, stuck.lastFailure?.op, stuck.lastFailure?.attempts]).toEqual([
      "01",
      "action",
      1,
    ]);
    expect([stuck.lastFailure?.answer?.outcome, stuck.lastFailure?.answer?.code]).toEqual([
      BranchOutcome.ERROR,
      "500",
    ]);
  });

  test("a time range", async () => {
    const { createTime } = (await admin.getTransaction({ gid: seeded.stuck })).transaction!;
    const at = createTime!;
    const inRange = await admin.listTransactions({ gidPrefix: P, createTimeStart: at, createTimeEnd: at });
    expect(inRange.transactions.map((t) => t.gid)).toContain(seeded.stuck);
    const later = new Date(Date.now() + 3_600_000);
    const none = await admin.listTransactions({ gidPrefix: P, createTimeStart: timestampFromDate(later) });
    expect(none.transactions).toEqual([]);
  });

  test("keyset pages: a transaction created between two pages does not shift the next one", async () => {
    const page1 = await admin.listTransactions({ gidPrefix: P, pageSize: 2 });
    expect(page1.transactions.map((t) => t.gid)).toEqual([seeded.other, seeded.stuck]);
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, `${P}-late`, { wait_result: true }));
    const page2 = await admin.listTransactions({ gidPrefix: P, pageSize: 2, pageToken: page1.nextPageToken });
    expect(page2.transactions.map((t) => t.gid)).toEqual([seeded.failed, seeded.ok]);
    // the last page: no cursor (one row more than the page is read to know)
    expect(page2.nextPageToken).toBe("");
  });

  test("REST: GET /v1/admin/transactions with repeated statuses", async () => {
    const res = await dtx.get(
      `/v1/admin/transactions?gidPrefix=${P}&statuses=TRANSACTION_STATUS_SUBMITTED&statuses=TRANSACTION_STATUS_FAILED&pageSize=10`,
    );
    expect(res.status).toBe(200);
    expect(res.body.transactions.map((t: { gid: string }) => t.gid)).toEqual([seeded.stuck, seeded.failed]);
    expect(res.body.transactions[0].lastFailure).toMatchObject({ branchId: "01", attempts: 1 });
  });

  test("bad filters → INVALID_ARGUMENT naming them", async () => {
    expect(await codeOf(admin.listTransactions({ statuses: [TransactionStatus.UNSPECIFIED] }))).toEqual([
      Code.InvalidArgument,
      "statuses[0]: must not be TRANSACTION_STATUS_UNSPECIFIED",
    ]);
    expect((await codeOf(admin.listTransactions({ pageSize: 5000 })))[0]).toBe(Code.InvalidArgument);
    expect((await codeOf(admin.listTransactions({ pageToken: "x" })))[1]).toBe(
      "page_token: is not a cursor of this listing",
    );
  });
});

test("GetTransaction: branches with attempts and last answers; an unknown gid is NOT_FOUND (REST 404)", async () => {
  const t = (await admin.getTransaction({ gid: seeded.failed })).transaction!;
  expect(t.status).toBe(TransactionStatus.FAILED);
  expect(t.branches.map((b) => [b.op, b.attempts, b.lastAnswer?.code])).toEqual([
    ["compensate", 1, "200"],
    ["action", 1, "200"],
    ["compensate", 1, "200"],
    ["action", 1, "409"],
  ]);
  expect((await codeOf(admin.getTransaction({ gid: "no-such-gid" })))[0]).toBe(Code.NotFound);
  expect((await dtx.get("/v1/admin/transactions/no-such-gid")).status).toBe(404);
});

describe("ForceStop", () => {
  test("an unfinished transaction → FAILED at once, nothing called; REST binding :forceStop", async () => {
    const gid = freshGid("adm-stop");
    rm.script("TransOut", "ONG");
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid));
    await dtx.settled(gid);
    const calls = callsOf(rm, gid).length;
    const res = await dtx.post(`/v1/admin/transactions/${gid}:forceStop`, {});
    expect(res.status).toBe(200);
    expect(res.body.transaction).toMatchObject({
      gid,
      status: "TRANSACTION_STATUS_FAILED",
      rollbackReason: "force stopped by operator anonymous", // no admin token on loopback
    });
    expect(await dtx.cron({ lookAheadMs: 10_000_000 })).not.toContain(gid);
    expect(callsOf(rm, gid)).toHaveLength(calls);
  });

  test("a finished transaction → FAILED_PRECONDITION (REST 400); unknown → NOT_FOUND", async () => {
    expect(await codeOf(admin.forceStop({ gid: seeded.ok }))).toEqual([
      Code.FailedPrecondition,
      "global transaction force stop error. status: succeed. error: FAILURE",
    ]);
    expect((await dtx.post(`/v1/admin/transactions/${seeded.ok}:forceStop`, {})).status).toBe(400);
    expect((await codeOf(admin.forceStop({ gid: "no-such-gid" })))[0]).toBe(Code.NotFound);
    expect((await codeOf(admin.forceStop({ gid: "" })))[1]).toBe("gid: is required");
  });
});

describe("RetryNow and RetryDelayed", () => {
  test("RetryNow makes a backed-off transaction due now; the next claim drives it", async () => {
    const gid = freshGid("adm-retry");
    rm.script("TransOut", "ERR");
    await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid));
    await dtx.settled(gid);
    expect(await dtx.cron({ lookAheadMs: 0 })).not.toContain(gid);
    const res = await dtx.post(`/v1/admin/transactions/${gid}:retryNow`, {});
    expect(res.status).toBe(200);
    expect(Date.parse(res.body.transaction.nextCronTime)).toBeLessThanOrEqual(Date.now() + 3000);
    expect(await dtx.cron({ lookAheadMs: 0 })).toContain(gid);
    expect(await dtx.status(gid)).toBe("succeed");
    expect((await codeOf(admin.retryNow({ gid })))[0]).toBe(Code.FailedPrecondition);
  });

  test("RetryDelayed: beyond and limit; REST binding; bad values named", async () => {
    const gids = [freshGid("adm-delayed"), freshGid("adm-delayed")];
    for (const gid of gids) {
      rm.script("TransOut", "ERR");
      await dtx.post("/api/dtmsvr/submit", transferBody(rm, gid));
      await dtx.settled(gid);
    }
    // one error each: due in 20 s
    expect(await admin.retryDelayed({ beyond: { seconds: 30n }, limit: 10 })).toMatchObject({ count: 0 });
    const res = await dtx.post("/v1/admin/transactions:retryDelayed", { beyond: "15s", limit: 1 });
    expect(res.body).toEqual({ count: 1, hasRemaining: true });
    expect(await admin.retryDelayed({ beyond: { seconds: 15n } })).toMatchObject({
      count: 1,
      hasRemaining: false,
    });
    expect(await codeOf(admin.retryDelayed({ beyond: { seconds: -1n } }))).toEqual([
      Code.InvalidArgument,
      "beyond: must not be negative",
    ]);
    expect(await codeOf(admin.retryDelayed({ limit: 5000 }))).toEqual([
      Code.InvalidArgument,
      "limit: must be between 1 and 1000",
    ]);
    expect((await dtx.cron({ lookAheadMs: 0 })).sort()).toEqual(gids.sort());
    for (const gid of gids) expect(await dtx.status(gid)).toBe("succeed");
  });
});
