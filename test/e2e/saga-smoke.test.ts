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
