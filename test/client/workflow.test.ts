/**
 * The SDK's code-first workflows (`dtx.workflows`) against a real coordinator: scenarios 53–59 of
 * §10.3 through the SDK — saga-, TCC- and XA-style steps (XA on Postgres prepared transactions,
 * skipped on PGlite), mixed in one workflow; rollbacks; the resume callback served by
 * `resumeHandler()` after an error or an ONGOING; the stored result; replays that skip recorded steps.
 */
import type { ClientBase } from "pg";
import { credit, debit } from "../../examples/bank/accounts";
import { prepareBankDb } from "../../examples/bank/db";
import {
  BranchFailure,
  BranchOngoing,
  Coordinator,
  httpBranchRoutes,
  isBranchCallError,
  isBranchFailure,
  isBranchOngoing,
  isCoordinatorError,
  XaResource,
  type Workflow,
  type Workflows,
} from "../../src/client";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { listenHttp, type Listening } from "../support/listen";
import { openTestDb, type TestDb } from "../support/test-db";
import { callsOf, dropLeftoverScripts, freshGid, summary } from "../e2e/saga-helpers";
import {
  expectTccStyleCommitted,
  expectTransInFailureRolledBack,
  progressRows,
  RESUME,
} from "../e2e/workflow-helpers";
import { SKIP, pgTest } from "../support/prepared-transactions";

let dtx: TestCoordinator;
let rm: BranchServices;
let sdk: Coordinator;
let workflows: Workflows;
let callback: Listening;
let db: TestDb;
let xa: XaResource;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  sdk = Coordinator.http(dtx.base);
  let resume: ReturnType<Workflows["resumeHandler"]> | undefined;
  callback = await listenHttp(httpBranchRoutes({ "/resume": (call) => resume!(call) }));
  workflows = sdk.workflows(`http://127.0.0.1:${callback.port}/resume`);
  resume = workflows.resumeHandler();
  db = await openTestDb();
  const table = db.kind === "postgres" ? `${db.schema}.barrier` : "dtm_barrier.barrier";
  await prepareBankDb(db.pool, {}, table);
  xa = new XaResource(db.pool, { table });
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await callback?.close();
  await sdk?.close();
  await db?.close();
  await rm?.close();
  await dtx?.close();
});

const REQ = { amount: 30, user: 1 };
const OK_BODY = '{"dtm_result":"SUCCESS"}';

/** TransOut then TransIn, each compensated by its Revert (saga-style). */
async function sagaTransfer(wf: Workflow): Promise<void> {
  await wf
    .newBranch()
    .onRollback(() => wf.call(rm.url("TransOutRevert"), REQ))
    .call(rm.url("TransOut"), REQ);
  await wf
    .newBranch()
    .onRollback(() => wf.call(rm.url("TransInRevert"), REQ))
    .call(rm.url("TransIn"), REQ);
}

/** A registered workflow named after its gid. */
function workflow(prefix: string, fn: (wf: Workflow, input: Buffer) => Promise<unknown>): string {
  const gid = freshGid(prefix);
  workflows.register(gid, async (wf, input) => void (await fn(wf, input)));
  return gid;
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("the workflow did not fail");
}

let accountSeq = 0;
async function account(balance = 100): Promise<string> {
  const name = `w${++accountSeq}`;
  await db.pool.query("insert into account (name, balance) values ($1, $2)", [name, balance]);
  return name;
}
async function balance(name: string): Promise<number> {
  const res = await db.pool.query<{ balance: string }>("select balance from account where name = $1", [name]);
  return Number(res.rows[0]!.balance);
}
async function prepared(gid: string): Promise<number> {
  const res = await db.pool.query("select 1 from pg_prepared_xacts where gid like $1", [`${gid}-%`]);
  return res.rowCount ?? 0;
}
const debitOf = (name: string, amount: number) => (tx: ClientBase) => debit(tx, name, amount);

test("53: saga-style steps all OK → each recorded with its answer, submit succeed → succeed", async () => {
  const gid = workflow("wf-normal", sagaTransfer);
  expect((await workflows.execute(gid, gid, REQ)).toString()).toBe("");
  const { transaction, branches } = await dtx.query(gid);
  expect(transaction).toMatchObject({ status: "succeed", trans_type: "workflow", protocol: "http" });
  expect(JSON.parse(transaction.custom_data)).toEqual({
    name: gid,
    data: Buffer.from(JSON.stringify(REQ)).toString("base64"),
  });
  expect(transaction.query_prepared).toBe(workflows.callback);
  expect(
    branches.map((b) => [b.branch_id, b.op, b.status, Buffer.from(b.bin_data, "base64").toString()]),
  ).toEqual([
    ["01", "action", "succeed", OK_BODY],
    ["02", "action", "succeed", OK_BODY],
  ]);
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  for (const c of calls) expect([c.transType, JSON.parse(c.body.toString())]).toEqual(["workflow", REQ]);
});

test("53: TCC-style steps → tries recorded, then the confirms run and are recorded, last first", async () => {
  const gid = workflow("wf-tcc", async (wf) => {
    for (const side of ["Out", "In"]) {
      await wf
        .newBranch()
        .onRollback(() => wf.call(rm.url(`Trans${side}Cancel`), REQ))
        .onCommit(() => wf.call(rm.url(`Trans${side}Confirm`), REQ))
        .call(rm.url(`Trans${side}Try`), REQ);
    }
  });
  await workflows.execute(gid, gid, REQ);
  await expectTccStyleCommitted(dtx, rm, gid);
});

test("54: a step FAILs → the branches before it roll back, last first; failed with the reason", async () => {
  const gid = workflow("wf-rollback", sagaTransfer);
  rm.script("TransIn", "FAIL");
  const err = await errorOf(workflows.execute(gid, gid, REQ));
  expect(isBranchFailure(err)).toBe(true);
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toBe(err.message);
  await expectTransInFailureRolledBack(dtx, rm, gid);
  // executing it again answers the failure without running anything
  const again = await errorOf(workflows.execute(gid, gid, REQ));
  expect([isBranchFailure(again), again.message]).toEqual([true, err.message]);
  expect(callsOf(rm, gid)).toHaveLength(3);
});

test("54: compensateFailedBranch also rolls back the branch that failed", async () => {
  const gid = freshGid("wf-compensate-failed");
  workflows.register(gid, async (wf) => sagaTransfer(wf), { compensateFailedBranch: true });
  rm.script("TransIn", "FAIL");
  await errorOf(workflows.execute(gid, gid, REQ));
  expect(summary(callsOf(rm, gid)).slice(2)).toEqual([
    ["TransInRevert", "rollback", "02"],
    ["TransOutRevert", "rollback", "01"],
  ]);
});

describe("55: a first run ending with an error or ONGOING is resumed through the callback", () => {
  test.each(["ERR", "ONG"] as const)(
    "%s → not submitted; the coordinator resumes it → succeed",
    async (answer) => {
      const gid = workflow(`wf-resume-${answer}`, sagaTransfer);
      rm.script("TransIn", answer);
      const err = await errorOf(workflows.execute(gid, gid, REQ));
      expect(answer === "ERR" ? isBranchCallError(err) : isBranchOngoing(err)).toBe(true);
      expect(await dtx.status(gid)).toBe("prepared");
      expect(await progressRows(dtx, gid)).toEqual([["01", "action", "succeed"]]); // neither is recorded

      expect(await dtx.cron(RESUME)).toContain(gid);
      expect(await dtx.status(gid)).toBe("succeed");
      // 58: the replay did not call TransOut again
      expect(summary(callsOf(rm, gid))).toEqual([
        ["TransOut", "action", "01"],
        ["TransIn", "action", "02"],
        ["TransIn", "action", "02"],
      ]);
    },
  );
});

test("56: the workflow's result is stored; executing it again returns it without running", async () => {
  let runs = 0;
  const gid = freshGid("wf-result");
  workflows.register(gid, async (wf, input) => {
    runs++;
    const reply = await wf.newBranch().do(async () => ({ echo: JSON.parse(input.toString()) }));
    return Buffer.concat([Buffer.from([0, 255]), reply.body]);
  });
  const expected = Buffer.concat([Buffer.from([0, 255]), Buffer.from(JSON.stringify({ echo: REQ }))]);
  expect(await workflows.execute(gid, gid, REQ)).toEqual(expected);
  expect((await dtx.query(gid)).transaction.result).toBe(expected.toString("base64"));
  expect(await workflows.execute(gid, gid, REQ)).toEqual(expected);
  expect(runs).toBe(1);
});

test("57: two runs of one workflow racing → the second recording of a step is refused", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let started = 0;
  const gid = workflow("wf-conflict", async (wf) => {
    await wf.newBranch().do(async () => {
      started++;
      await gate;
      return "done";
    });
  });
  const first = workflows.execute(gid, gid).then(
    () => "ok",
    (e: unknown) => e,
  );
  const second = workflows.execute(gid, gid).then(
    () => "ok",
    (e: unknown) => e,
  );
  while (started < 2) await new Promise((r) => setTimeout(r, 10));
  release();
  const outcomes = await Promise.all([first, second]);
  expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
  expect(isCoordinatorError(outcomes.find((o) => o !== "ok"))).toBe(true);
  expect(await dtx.status(gid)).toBe("succeed");
  expect(await progressRows(dtx, gid)).toEqual([["01", "action", "succeed"]]);
});

test("58: a replay returns recorded outcomes (data and failures) without running their steps", async () => {
  let localRuns = 0;
  let ongoing = true;
  const gid = workflow("wf-replay", async (wf) => {
    const reply = await wf.newBranch().do(async () => `run ${++localRuns}`);
    expect(reply.text()).toBe("run 1");
    await wf.newBranch().do(async () => {
      if (ongoing) throw new BranchOngoing("not yet");
    });
  });
  expect(isBranchOngoing(await errorOf(workflows.execute(gid, gid)))).toBe(true);
  ongoing = false;
  await workflows.execute(gid, gid);
  expect(localRuns).toBe(1);
  expect(await dtx.status(gid)).toBe("succeed");
});

test("59: ONGOING at five points, forward and rollback → prepared after 4 cron passes, failed after the 5th", async () => {
  let point = 0;
  /** ONGOING once, when the workflow reaches point `n` for the first time. */
  const ongoingAt = (n: number): void => {
    if (point !== n) return;
    point++;
    throw new BranchOngoing(`ongoing at ${n}`);
  };
  const gid = workflow("wf-ongoing", async (wf) => {
    ongoingAt(0);
    await wf
      .newBranch()
      .onRollback(async () => {
        ongoingAt(3);
        await wf.call(rm.url("TransOutRevert"), REQ);
        ongoingAt(4);
      })
      .do(async () => ongoingAt(1));
    await wf.newBranch().do(async () => {
      ongoingAt(2);
      throw new BranchFailure("the second step fails");
    });
  });
  expect(isBranchOngoing(await errorOf(workflows.execute(gid, gid)))).toBe(true);
  for (let pass = 1; pass <= 4; pass++) {
    await dtx.cron(RESUME);
    expect(await dtx.status(gid)).toBe("prepared");
  }
  await dtx.cron(RESUME);
  expect(await dtx.status(gid)).toBe("failed");
  expect(await progressRows(dtx, gid)).toEqual([
    ["01", "action", "succeed"],
    ["02", "action", "failed"],
    ["01", "rollback", "succeed"],
  ]);
});

pgTest(`53: an XA-style step → prepared in the workflow, committed when it succeeds ${SKIP}`, async () => {
  const alice = await account();
  const gid = workflow("wf-xa", async (wf) => {
    await wf.newBranch().doXa(xa, debitOf(alice, 30));
    expect(await prepared(wf.gid)).toBe(1);
  });
  await workflows.execute(gid, gid);
  expect(await dtx.status(gid)).toBe("succeed");
  expect(await balance(alice)).toBe(70);
  expect(await prepared(gid)).toBe(0);
  expect(await progressRows(dtx, gid)).toEqual([
    ["01", "business", "succeed"],
    ["01", "action", "succeed"],
    ["01", "commit", "succeed"],
  ]);
});

pgTest(`53/54: saga, TCC and XA steps mixed; a later FAILURE rolls them all back ${SKIP}`, async () => {
  const alice = await account();
  const bob = await account();
  const mixed = (fail: boolean) => async (wf: Workflow) => {
    await wf
      .newBranch()
      .onRollback(() => wf.call(rm.url("TransOutRevert"), REQ))
      .call(rm.url("TransOut"), REQ);
    await wf
      .newBranch()
      .onCommit(() => wf.call(rm.url("TransInConfirm"), REQ))
      .onRollback(() => wf.call(rm.url("TransInCancel"), REQ))
      .call(rm.url("TransInTry"), REQ);
    await wf.newBranch().doXa(xa, debitOf(alice, 40));
    await wf.newBranch().doXa(xa, (tx) => credit(tx, bob, 40));
    if (fail) await wf.newBranch().do(async () => Promise.reject(new BranchFailure("refused at the end")));
  };
  const ok = workflow("wf-mixed", mixed(false));
  await workflows.execute(ok, ok);
  expect(await dtx.status(ok)).toBe("succeed");
  expect([await balance(alice), await balance(bob)]).toEqual([60, 140]);
  expect(summary(callsOf(rm, ok))).toEqual([
    ["TransOut", "action", "01"],
    ["TransInTry", "action", "02"],
    ["TransInConfirm", "commit", "02"],
  ]);

  const failed = workflow("wf-mixed-fail", mixed(true));
  expect((await errorOf(workflows.execute(failed, failed))).message).toBe("refused at the end");
  expect(await dtx.status(failed)).toBe("failed");
  expect([await balance(alice), await balance(bob)]).toEqual([60, 140]);
  expect(await prepared(failed)).toBe(0);
  expect(summary(callsOf(rm, failed))).toEqual([
    ["TransOut", "action", "01"],
    ["TransInTry", "action", "02"],
    ["TransInCancel", "rollback", "02"],
    ["TransOutRevert", "rollback", "01"],
  ]);
});

pgTest(`an XA step that failed for good (no funds) is not prepared; the workflow fails ${SKIP}`, async () => {
  const carol = await account(10);
  const gid = workflow("wf-xa-fail", async (wf) => {
    await wf.newBranch().doXa(xa, debitOf(carol, 30));
  });
  expect((await errorOf(workflows.execute(gid, gid))).message).toContain("insufficient funds");
  expect(await dtx.status(gid)).toBe("failed");
  expect(await balance(carol)).toBe(10);
  expect(await prepared(gid)).toBe(0);
});
