/**
 * `retry_limit`: the retries of an action within one pass are spaced, not fired back to back. They are
 * spread evenly over the pass budget (request timeout + 2 s), at most one retry interval apart, so the
 * limit is still decided within the pass (dtm's behaviour) without a burst of calls.
 */
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, OK, transferBody } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  dtx = await TestCoordinator.start(); // retry.interval 10 s, branch.requestTimeout 3 s: a 5 s pass budget
  rm = await BranchServices.start();
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

/** Milliseconds between consecutive calls of the TransIn action. */
function gapsOfTransIn(gid: string): number[] {
  const at = callsOf(rm, gid)
    .filter((c) => c.path.endsWith("/TransIn"))
    .map((c) => c.at);
  return at.slice(1).map((t, i) => t - at[i]!);
}

test("retry_interval=1: ERR×3 then OK → succeed, each retry about a second after the last", async () => {
  const gid = freshGid("spacing-interval");
  rm.script("TransIn", "ERR", "ERR", "ERR");
  const body = transferBody(rm, gid, { retry_limit: 3, retry_interval: 1, wait_result: true });
  expect(await dtx.post("/api/dtmsvr/submit", body)).toEqual(OK);
  await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
  const gaps = gapsOfTransIn(gid);
  expect(gaps).toHaveLength(3);
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
});

test("the server's 10 s interval: the retries are spread over the 5 s budget and the limit still decides", async () => {
  const gid = freshGid("spacing-budget");
  rm.setDefault("TransIn", "ERR");
  try {
    const res = await dtx.post(
      "/api/dtmsvr/submit",
      transferBody(rm, gid, { retry_limit: 3, wait_result: true }),
    );
    expect(res.status).toBe(409);
    expect(res.body.message).toContain("RetryCount is greater than RetryLimit, RetryLimit: 3");
  } finally {
    rm.setDefault("TransIn", "OK");
  }
  const gaps = gapsOfTransIn(gid);
  expect(gaps).toHaveLength(3);
  for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
  expect(gaps.reduce((a, b) => a + b, 0)).toBeLessThan(5000);
});
