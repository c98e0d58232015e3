/**
 * `branch.allowedTargets`: whoever can submit cannot make the coordinator call hosts outside the list —
 * a transaction naming one is refused with a 400 naming the URL, and nothing is written or called.
 */
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  dtx = await TestCoordinator.start({ branch: { allowedTargets: ["127.0.0.0/8", "*.svc.cluster.local"] } });
  rm = await BranchServices.start();
});
afterAll(async () => {
  await rm?.close();
  await dtx?.close();
});

function saga(gid: string, outside: string) {
  return {
    gid,
    trans_type: "saga",
    wait_result: true,
    steps: [
      { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
      { action: outside, compensate: rm.url("TransInRevert") },
    ],
    payloads: ['{"amount":30}', '{"amount":30}'],
  };
}

test("a saga with a branch URL outside the list gets 400 naming the URL and writes nothing", async () => {
  const { status, body } = await dtx.post(
    "/api/dtmsvr/submit",
    saga("outside-1", "http://169.254.169.254/x"),
  );
  expect(status).toBe(400);
  expect(body.message).toContain('"http://169.254.169.254/x" is not an allowed branch target');
  expect((await dtx.query("outside-1")).transaction).toBeNull();
  expect((await dtx.get("/api/dtmsvr/all?limit=100")).body.transactions).toEqual([]);
  expect(rm.calls()).toEqual([]);
});

test("a msg whose check-back URL is outside the list is refused at prepare", async () => {
  const { status, body } = await dtx.post("/api/dtmsvr/prepare", {
    gid: "outside-2",
    trans_type: "msg",
    steps: [{ action: rm.url("TransIn") }],
    payloads: ['{"amount":30}'],
    query_prepared: "http://metadata.google.internal/computeMetadata/v1/",
  });
  expect(status).toBe(400);
  expect(body.message).toContain("query_prepared");
  expect((await dtx.query("outside-2")).transaction).toBeNull();
});

test("a saga whose URLs are all inside the list runs", async () => {
  const { status } = await dtx.post("/api/dtmsvr/submit", saga("inside-1", rm.url("TransIn")));
  expect(status).toBe(200);
  expect(await dtx.status("inside-1")).toBe("succeed");
  expect(rm.calls().map((c) => c.path)).toEqual(["/api/busi/TransOut", "/api/busi/TransIn"]);
});
