/**
 * retention.finished: a coordinator deletes finished transactions past the retention with their
 * branches, counts the rows removed, and keeps unfinished ones; `query` of a deleted gid finds nothing.
 */
import { BranchServices } from "../support/branch-services";
import { oneStepSaga } from "../support/one-step-saga";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
  dtx = await TestCoordinator.start({
    retention: { finished: 86_400_000, interval: 3_600_000, batchSize: 1 },
  });
});
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

const saga = (gid: string, action: string, extra: Record<string, unknown> = {}) =>
  oneStepSaga(rm, gid, action, extra);

test("finished transactions older than retention.finished are deleted and counted; an unfinished one stays", async () => {
  expect(
    (await dtx.post("/api/dtmsvr/submit", saga("ret-done", "TransOut", { wait_result: true }))).status,
  ).toBe(200);
  rm.script("Down", "FAIL");
  await dtx.post("/api/dtmsvr/submit", saga("ret-rolled-back", "Down", { wait_result: true }));
  rm.setDefault("Stuck", "ERR");
  expect((await dtx.post("/api/dtmsvr/submit", saga("ret-stuck", "Stuck"))).status).toBe(200);
  await dtx.settled();
  expect(await dtx.status("ret-done")).toBe("succeed");
  expect(await dtx.status("ret-rolled-back")).toBe("failed");

  // a day later nothing is old enough yet; two days later both finished ones are, one per batch
  const worker = dtx.app.retention!;
  dtx.app.clock.advance(3_600_000);
  expect(await worker.runOnce()).toEqual({ transactions: 0, branches: 0 });
  dtx.app.clock.advance(2 * 86_400_000);
  expect(await worker.runOnce()).toEqual({ transactions: 2, branches: 4 });
  dtx.app.clock.resetOffset();

  expect(await dtx.query("ret-done")).toEqual({ transaction: null, branches: [] });
  expect(await dtx.query("ret-rolled-back")).toEqual({ transaction: null, branches: [] });
  expect(await dtx.status("ret-stuck")).toBe("submitted");
  expect((await dtx.query("ret-stuck")).branches).toHaveLength(2);

  const metrics = await (await fetch(`${dtx.base}/api/metrics`)).text();
  expect(metrics).toMatch(/^dtx_retention_removed_total\{table="trans_global"\} 2$/m);
  expect(metrics).toMatch(/^dtx_retention_removed_total\{table="trans_branch_op"\} 4$/m);

  // the gid is free again: a new transaction may take it
  expect(
    (await dtx.post("/api/dtmsvr/submit", saga("ret-done", "TransOut", { wait_result: true }))).status,
  ).toBe(200);
  expect(await dtx.status("ret-done")).toBe("succeed");
});
