import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
});
afterAll(async () => {
  await rm?.close();
  await dtx?.close();
});

function sagaBody(gid: string, extra: Record<string, unknown> = {}) {
  return {
    gid,
    trans_type: "saga",
    steps: [
      { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
      { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
    ],
    payloads: ['{"amount":30}', '{"amount":30}'],
    ...extra,
  };
}

test("a saga whose branches succeed ends succeed", async () => {
  rm.clearCalls();
  const res = await dtx.post("/api/dtmsvr/submit", sagaBody("smoke-1"));
  expect(res).toEqual({ status: 200, body: { dtm_result: "SUCCESS" } });
  await dtx.settled("smoke-1");
  expect(await dtx.status("smoke-1")).toBe("succeed");
  expect(await dtx.branchVector("smoke-1")).toEqual(["P", "S", "P", "S"]);
  expect(rm.calls().map((c) => [c.path, c.op, c.branchId])).toEqual([
    ["/api/busi/TransOut", "action", "01"],
    ["/api/busi/TransIn", "action", "02"],
  ]);
});

/** Counts the statements the coordinator sends (each is its own transaction: one commit each). */
async function statementsDuring(work: () => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const stop = dtx.app.store.onStatement((s) => seen.push(s.text.trim().split(/\s+/).slice(0, 3).join(" ")));
  try {
    await work();
  } finally {
    stop();
  }
  return seen;
}

test("a happy-path saga costs two commits, a rollback three", async () => {
  const ok = await statementsDuring(async () => {
    expect((await dtx.post("/api/dtmsvr/submit", sagaBody("cost-1", { wait_result: true }))).status).toBe(
      200,
    );
  });
  expect(ok).toEqual(["with t as", "with w as"]); // insert with branches; final write with branch statuses

  rm.script("TransIn", "FAIL");
  const rollback = await statementsDuring(async () => {
    expect((await dtx.post("/api/dtmsvr/submit", sagaBody("cost-2", { wait_result: true }))).status).toBe(
      409,
    );
  });
  expect(rollback).toHaveLength(3); // insert; `aborting` before compensating; final write
  expect(await dtx.status("cost-2")).toBe("failed");
});

test("a recovery pass costs its share of one claim statement (the row with its branches) and one write", async () => {
  rm.script("TransOut", "ONG");
  expect((await dtx.post("/api/dtmsvr/submit", sagaBody("cost-3", { wait_result: true }))).status).toBe(409);
  const recovery = await statementsDuring(async () => {
    expect(await dtx.cron()).toContain("cost-3");
  });
  expect(recovery).toEqual(["select c.*, coalesce((", "with w as"]); // claim with branches; final write
  expect(await dtx.status("cost-3")).toBe("succeed");
});
