/**
 * A branch registered while a timeout pass moves its TCC transaction to `aborting` is still cancelled:
 * the registration locks the global row in `prepared`, so it either commits before the pass writes
 * `aborting` — and the pass re-reads the rows after that write (Pass.reloadBranches) — or it is refused
 * with 409. First placed exactly around the write, then raced for real (on Postgres, two connections).
 */
import { PgRepository } from "../../src/store/pg-repository";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, expectSaga, freshGid, summary } from "./saga-helpers";
import { GoHttpAp, type Answer } from "./two-phase-ap";

let dtx: TestCoordinator;
let rm: BranchServices;
let ap: GoHttpAp;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  ap = new GoHttpAp(dtx, rm);
});
afterEach(() => jest.restoreAllMocks());
afterAll(async () => {
  await rm?.close();
  await dtx?.close();
});

/** A prepared tcc with branch 01 registered (its try never called: the timeout comes first). */
async function preparedWithOneBranch(prefix: string): Promise<string> {
  const gid = freshGid(prefix);
  expect((await ap.post("prepare", ap.body(gid, "tcc"))).status).toBe(200);
  expect((await register(gid, "01")).status).toBe(200);
  return gid;
}

function register(gid: string, branchId: string): Promise<Answer> {
  return ap.post("registerBranch", {
    gid,
    trans_type: "tcc",
    branch_id: branchId,
    data: "{}",
    confirm: rm.url("Confirm"),
    cancel: rm.url(`Cancel${branchId}`),
  });
}

test("registered just before the pass writes aborting → cancelled (last first); just after → 409", async () => {
  const gid = await preparedWithOneBranch("race-exact");
  const savePass = PgRepository.prototype.savePass;
  const answers: Record<string, Answer> = {};
  jest.spyOn(PgRepository.prototype, "savePass").mockImplementation(async function (this: PgRepository, w) {
    if (w.gid !== gid || w.toStatus !== "aborting" || w.fromStatus !== "prepared")
      return savePass.call(this, w);
    // the pass has claimed the transaction and read its rows; the timeout moves it to aborting now
    answers.before = await register(gid, "02");
    const saved = await savePass.call(this, w);
    answers.after = await register(gid, "03");
    return saved;
  });
  expect(await dtx.cron({ forwardMs: 300_000 })).toContain(gid);
  expect(answers.before?.status).toBe(200);
  expect(answers.after).toEqual({
    status: 409,
    body: JSON.stringify({
      dtm_result: "FAILURE",
      message: `no trans with gid: ${gid} status: prepared found. FAILURE`,
    }),
  });
  await expectSaga(dtx, gid, "failed", ["S", "P", "S", "P"]);
  expect(summary(callsOf(rm, gid))).toEqual([
    ["Cancel02", "cancel", "02"],
    ["Cancel01", "cancel", "01"],
  ]);
});

test("raced for real: every branch that was registered is cancelled, every other was refused", async () => {
  for (let i = 0; i < 8; i++) {
    const gid = await preparedWithOneBranch(`race-${i}`);
    const [, late] = await Promise.all([dtx.cron({ forwardMs: 300_000 }), register(gid, "02")]);
    await dtx.settled(gid);
    expect([200, 409]).toContain(late.status);
    const registered = late.status === 200;
    // a claim skips a row a registration holds locked (`skip locked`): the next recovery pass takes it
    if ((await dtx.status(gid)) !== "failed") await dtx.cron({ forwardMs: 300_000, lookAheadMs: 3_600_000 });
    await expectSaga(dtx, gid, "failed", registered ? ["S", "P", "S", "P"] : ["S", "P"]);
    const cancelled = new Set(summary(callsOf(rm, gid)).map(([route]) => route));
    expect(cancelled).toEqual(new Set(registered ? ["Cancel01", "Cancel02"] : ["Cancel01"]));
  }
});
