/**
 * GetHealth, the admin page's health strip: version, store, the recovery worker, and the unfinished
 * transactions — how many, how many are due now (the backlog), the oldest.
 */
import { TestCoordinator } from "../support/coordinator";
import { BranchServices } from "../support/branch-services";

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

test("an empty coordinator, then a stuck saga: unfinished, backlog once it is due, the oldest", async () => {
  const empty = await dtx.get("/v1/admin/health");
  expect(empty.status).toBe(200);
  expect(empty.body).toEqual({
    version: expect.stringMatching(/^v\d/),
    store: expect.stringMatching(/^(postgres|pglite)$/),
  });

  rm.setDefault("TransIn", { status: 500, body: "bank is down" });
  await dtx.post("/api/dtmsvr/submit", {
    gid: "health-1",
    trans_type: "saga",
    steps: [{ action: rm.url("TransIn"), compensate: rm.url("TransInRevert") }],
    payloads: ["{}"],
  });
  await dtx.settled("health-1");
  const stuck = (await dtx.get("/v1/admin/health")).body;
  expect(stuck.unfinished).toBe("1");
  expect(stuck.backlog).toBeUndefined(); // its next look is 20 s away
  const created = (await dtx.get("/v1/admin/transactions/health-1")).body.transaction.createTime;
  expect(stuck.oldestUnfinishedCreateTime).toBe(created);

  expect((await dtx.post("/v1/admin/transactions/health-1:retryNow", {})).status).toBe(200);
  expect((await dtx.get("/v1/admin/health")).body).toMatchObject({ unfinished: "1", backlog: "1" });
});
