/**
 * Workflow end to end over HTTP: scenarios 53–58 of §10.3 (dtm's workflow_http_test.go,
 * workflow_http_ret_test.go, workflow_base_test.go, workflow_ongoing_test.go). A minimal workflow
 * client (test/support/workflow-client.ts) sends what dtm's Go client sends; the coordinator
 * records the progress and resumes unfinished workflows through the client's callback.
 */
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { WfError, WorkflowClient, type Workflow } from "../support/workflow-client";
import { callsOf, dropLeftoverScripts, freshGid, summary } from "./saga-helpers";
import {
  expectTccStyleCommitted,
  expectTransInFailureRolledBack,
  failureOf,
  lastReply,
  progressRows,
  RESUME,
} from "./workflow-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let client: WorkflowClient;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  client = await WorkflowClient.start(dtx.base, "http");
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await client?.close();
  await dtx?.close();
  await rm?.close();
});

const REQ = { amount: 30, user: 1 };
const INPUT = Buffer.from(JSON.stringify(REQ));
const OK_BODY = '{"dtm_result":"SUCCESS"}';

/** TransOut then TransIn, each undone by its Revert (dtm's TestWorkflowRollback shape). */
async function transfer(wf: Workflow): Promise<void> {
  await wf
    .newBranch()
    .onRollback(async () => void (await wf.call(rm.url("TransOutRevert"), REQ)))
    .post(rm.url("TransOut"), REQ);
  await wf
    .newBranch()
    .onRollback(async () => void (await wf.call(rm.url("TransInRevert"), REQ)))
    .post(rm.url("TransIn"), REQ);
}

/** `[branch_id, op, status, data]` of each stored row. */
async function progress(gid: string): Promise<Array<[string, string, string, string]>> {
  const { branches } = await dtx.query(gid);
  return branches.map((b) => [
    b.branch_id,
    b.op,
    b.status,
    Buffer.from(b.bin_data ?? "", "base64").toString(),
  ]);
}

test("53: all steps OK → progresses [] at first, each step recorded, submit succeed → succeed", async () => {
  const gid = freshGid("wf-normal");
  client.register(gid, async (wf) => transfer(wf));
  const sentBefore = client.sent.length;

  expect((await client.execute(gid, gid, INPUT)).toString()).toBe("");

  expect(lastReply(client, gid).Progresses).toEqual([]);
  expect(lastReply(client, gid).Transaction).toMatchObject({ Gid: gid, Status: "prepared" });
  expect(await dtx.status(gid)).toBe("succeed");
  expect(await progress(gid)).toEqual([
    ["01", "action", "succeed", OK_BODY],
    ["02", "action", "succeed", OK_BODY],
  ]);
  // the steps' RM calls carry the workflow's query parameters; the coordinator called nothing
  const calls = callsOf(rm, gid);
  expect(summary(calls)).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
  ]);
  for (const c of calls)
    expect([c.transType, c.method, JSON.parse(c.body.toString())]).toEqual(["workflow", "POST", REQ]);
  expect(client.resumes.filter((r) => r.gid === gid)).toEqual([]);
  // the requests dtm's Go client sends, in order
  expect(client.sent.slice(sentBefore).map((s) => s.route)).toEqual([
    "prepareWorkflow",
    "registerBranch",
    "registerBranch",
    "submit",
  ]);
  const { transaction } = await dtx.query(gid);
  expect(transaction).toMatchObject({
    gid,
    trans_type: "workflow",
    status: "succeed",
    protocol: "http",
    query_prepared: client.callback,
    custom_data: JSON.stringify({ data: INPUT.toString("base64"), name: gid }),
  });
  expect(transaction.finish_time).toEqual(expect.any(String));
});

test("53: TCC-style commit ops are recorded after the actions, last first", async () => {
  const gid = freshGid("wf-tcc");
  client.register(gid, async (wf) => {
    for (const side of ["Out", "In"]) {
      await wf
        .newBranch()
        .onRollback(async () => void (await wf.call(rm.url(`Trans${side}Revert`), REQ)))
        .onCommit(async () => void (await wf.call(rm.url(`Trans${side}Confirm`), REQ)))
        .post(rm.url(`Trans${side}Try`), REQ);
    }
  });
  await client.execute(gid, gid, INPUT);
  await expectTccStyleCommitted(dtx, rm, gid);
});

test("54: a step FAILs → the recorded rollbacks run, submit failed → failed with the reason", async () => {
  const gid = freshGid("wf-rollback");
  client.register(gid, async (wf) => transfer(wf));
  rm.script("TransIn", "FAIL");

  const err = await failureOf(client.execute(gid, gid, INPUT));
  expect(err.kind).toBe("FAILURE");

  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toContain("Insufficient balance");
  expect(transaction.rollback_time).toEqual(expect.any(String));
  await expectTransInFailureRolledBack(dtx, rm, gid);
  // the failed step's error text is its recorded data
  expect((await progress(gid))[1]![3]).toContain("Insufficient balance");
});

describe("55: a first run that ends ERR or ONG is resumed by the recovery worker", () => {
  test.each(["ERR", "ONG"] as const)(
    "%s: prepared; cron calls the callback (00, name); replay → succeed",
    async (answer) => {
      const gid = freshGid(`wf-resume-${answer}`);
      client.register(gid, async (wf) => void (await wf.newBranch().post(rm.url("TransOut"), REQ)));
      rm.script("TransOut", answer);

      const err = await failureOf(client.execute(gid, gid, INPUT));
      expect(err.kind).toBe(answer === "ERR" ? "ERROR" : "ONGOING");
      expect(await dtx.status(gid)).toBe("prepared");
      expect(await progress(gid)).toEqual([]); // neither is recorded

      // not before its retry interval
      expect(await dtx.cron({ lookAheadMs: 0 })).not.toContain(gid);
      expect(await dtx.cron(RESUME)).toContain(gid);

      expect(await dtx.status(gid)).toBe("succeed");
      const resumes = client.resumes.filter((r) => r.gid === gid);
      expect(resumes).toEqual([
        {
          transport: "http",
          method: "POST",
          gid,
          transType: "workflow",
          branchId: "00",
          op: gid,
          body: INPUT,
        },
      ]);
      expect(summary(callsOf(rm, gid))).toEqual([
        ["TransOut", "action", "01"],
        ["TransOut", "action", "01"],
      ]);
    },
  );

  test("a workflow without input is resumed with GET and no body", async () => {
    const gid = freshGid("wf-noinput");
    client.register(gid, async (wf) => void (await wf.newBranch().post(rm.url("TransOut"), REQ)));
    rm.script("TransOut", "ONG");
    await failureOf(client.execute(gid, gid));
    expect((await dtx.query(gid)).transaction.custom_data).toBe(JSON.stringify({ data: null, name: gid }));
    await dtx.cron(RESUME);
    expect(await dtx.status(gid)).toBe("succeed");
    const [resume] = client.resumes.filter((r) => r.gid === gid);
    expect([resume!.method, resume!.body.length]).toEqual(["GET", 0]);
  });
});

test("56: the result is stored (base64) and returned again without running the workflow", async () => {
  const gid = freshGid("wf-result");
  let runs = 0;
  client.register(gid, async (wf) => {
    runs++;
    await wf.newBranch().post(rm.url("TransOut"), REQ);
    return Buffer.from("the workflow's result \u00e9");
  });
  expect((await client.execute(gid, gid, INPUT)).toString()).toBe("the workflow's result \u00e9");
  expect((await dtx.query(gid)).transaction.result).toBe(
    Buffer.from("the workflow's result \u00e9").toString("base64"),
  );

  expect((await client.execute(gid, gid, INPUT)).toString()).toBe("the workflow's result \u00e9");
  expect(runs).toBe(1);
  expect(callsOf(rm, gid)).toHaveLength(1);
  expect(lastReply(client, gid).Progresses.map((p) => [p.BranchID, p.Op, p.Status])).toEqual([
    ["01", "action", "succeed"],
  ]);
  // the native API shows the workflow as typed: name, input, callback, result as bytes
  const native = await dtx.get(`/v1/transactions/${gid}`);
  expect(native.body.transaction).toMatchObject({
    kind: "TRANSACTION_KIND_WORKFLOW",
    status: "TRANSACTION_STATUS_SUCCEED",
    workflow: {
      name: gid,
      input: INPUT.toString("base64"),
      callback: client.callback,
      result: Buffer.from("the workflow's result \u00e9").toString("base64"),
    },
  });
});

test("56: a failed workflow executed again returns its reason as a FAILURE without running", async () => {
  const gid = freshGid("wf-failed-again");
  client.register(gid, async (wf) => transfer(wf));
  rm.script("TransOut", "FAIL");
  await failureOf(client.execute(gid, gid, INPUT));
  const callsBefore = callsOf(rm, gid).length;
  const again = await failureOf(client.execute(gid, gid, INPUT));
  expect(again.kind).toBe("FAILURE");
  expect(again.message).toContain("Insufficient balance");
  expect(callsOf(rm, gid)).toHaveLength(callsBefore);
});

describe("57: registering the same (branch_id, op) twice is an error", () => {
  const register = (gid: string, op: string, data = "x") =>
    dtx.post("/api/dtmsvr/registerBranch", {
      gid,
      trans_type: "workflow",
      data,
      branch_id: "01",
      op,
      status: "succeed",
    });

  test("the second registration is refused and the first one's data stays", async () => {
    const gid = freshGid("wf-conflict");
    client.register(gid, async () => {
      throw new WfError("ONGOING", "not yet");
    });
    await failureOf(client.execute(gid, gid, INPUT));
    expect((await register(gid, "action", "first")).status).toBe(200);
    const second = await register(gid, "action", "second");
    expect([second.status, second.body.message]).toEqual([
      409,
      `branch 01 of ${gid} is registered already. FAILURE`,
    ]);
    // another op of the same branch is another row
    expect((await register(gid, "rollback")).status).toBe(200);
    expect(await progress(gid)).toEqual([
      ["01", "action", "succeed", "first"],
      ["01", "rollback", "succeed", "x"],
    ]);
  });

  test("bad op or status → 400 naming the key; no registration once the workflow finished", async () => {
    const gid = freshGid("wf-late");
    let first = true;
    client.register(gid, async (wf) => {
      if (first) {
        first = false;
        throw new WfError("ONGOING", "not yet");
      }
      await wf.newBranch().post(rm.url("TransOut"), REQ);
    });
    await failureOf(client.execute(gid, gid, INPUT));
    const bad = await dtx.post("/api/dtmsvr/registerBranch", {
      gid,
      trans_type: "workflow",
      branch_id: "01",
      op: "action",
      status: "done",
    });
    expect([bad.status, bad.body.message]).toEqual([
      400,
      'status: must be succeed or failed, not "done". FAILURE',
    ]);
    const noOp = await dtx.post("/api/dtmsvr/registerBranch", {
      gid,
      trans_type: "workflow",
      branch_id: "01",
      status: "succeed",
    });
    expect([noOp.status, noOp.body.message]).toEqual([400, "op: is required. FAILURE"]);
    const number = await dtx.post("/api/dtmsvr/registerBranch", {
      gid,
      trans_type: "workflow",
      branch_id: 1,
    });
    expect([number.status, number.body.message]).toEqual([
      400,
      "branch_id: must be a string, not a number. FAILURE",
    ]);
    expect(await progressRows(dtx, gid)).toEqual([]);

    await client.execute(gid, gid, INPUT);
    const late = await register(gid, "rollback");
    expect([late.status, late.body.message]).toEqual([
      409,
      `no trans with gid: ${gid} status: prepared found. FAILURE`,
    ]);
  });
});

test("58: a replay does not re-run the recorded steps", async () => {
  const gid = freshGid("wf-skip");
  client.register(gid, async (wf) => transfer(wf));
  rm.script("TransIn", "ONG");

  expect((await failureOf(client.execute(gid, gid, INPUT))).kind).toBe("ONGOING");
  expect(await progress(gid)).toEqual([["01", "action", "succeed", OK_BODY]]);

  await dtx.cron(RESUME);
  expect(await dtx.status(gid)).toBe("succeed");
  expect(lastReply(client, gid).Progresses.map((p) => [p.BranchID, p.Op, p.Status])).toEqual([
    ["01", "action", "succeed"],
  ]);
  expect(summary(callsOf(rm, gid))).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransIn", "action", "02"],
  ]);
});

describe("prepareWorkflow", () => {
  const body = (gid: string, extra: Record<string, unknown> = {}) => ({
    gid,
    trans_type: "workflow",
    custom_data: JSON.stringify({ data: null, name: "wf" }),
    query_prepared: client.callback,
    protocol: "http",
    ...extra,
  });

  test("a new gid: 200 with the stored transaction and no progress", async () => {
    const gid = freshGid("wf-prep");
    const res = await dtx.post("/api/dtmsvr/prepareWorkflow", body(gid));
    expect(res.status).toBe(200);
    expect(res.body.progresses).toEqual([]);
    expect(res.body.transaction).toMatchObject({ gid, trans_type: "workflow", status: "prepared" });
    expect(res.body.transaction.dtm_result).toBeUndefined();
  });

  test("bad input → 400 naming the field, with a failed transaction the Go client reads as FAILURE", async () => {
    for (const [extra, message] of [
      [
        { query_prepared: "" },
        "query_prepared: is required: the coordinator resumes an unfinished workflow there",
      ],
      [{ query_prepared: "ftp://x" }, 'query_prepared: "ftp://x" is not an http(s) URL'],
      [{ custom_data: "{" }, "custom_data: is not JSON text"],
      [{ custom_data: '{"name":"wf","data":"%%"}' }, "custom_data.data: must be base64 text or null"],
      [{ custom_data: '{"data":null}' }, "custom_data.name: is required: it names the workflow to resume"],
    ] as const) {
      const gid = freshGid("wf-bad");
      const res = await dtx.post("/api/dtmsvr/prepareWorkflow", body(gid, extra));
      expect([res.status, res.body.message]).toEqual([400, `${message}. FAILURE`]);
      expect(res.body.transaction).toEqual({ gid, status: "failed", rollback_reason: `${message}. FAILURE` });
      expect((await dtx.query(gid)).transaction).toBeNull();
    }
  });

  test("a gid of another kind → 409, a failed transaction in the answer", async () => {
    const gid = freshGid("wf-saga");
    await dtx.post("/api/dtmsvr/submit", {
      gid,
      trans_type: "saga",
      steps: [{ action: rm.url("TransOut"), compensate: "" }],
      payloads: ["{}"],
      wait_result: true,
    });
    const res = await dtx.post("/api/dtmsvr/prepareWorkflow", body(gid));
    expect(res.status).toBe(409);
    expect(res.body.transaction).toMatchObject({ gid, status: "failed" });
    expect(res.body.transaction.rollback_reason).toContain("belongs to a saga transaction");
  });
});

describe("submit of a workflow", () => {
  const submit = (gid: string, reqExtra: unknown) =>
    dtx.post("/api/dtmsvr/submit", { gid, trans_type: "workflow", req_extra: reqExtra });

  test("the same outcome again answers success; another one is a FAILURE; bad req_extra → 400", async () => {
    const gid = freshGid("wf-submit");
    expect(
      (
        await dtx.post("/api/dtmsvr/prepareWorkflow", {
          gid,
          trans_type: "workflow",
          custom_data: JSON.stringify({ data: null, name: "wf" }),
          query_prepared: client.callback,
        })
      ).status,
    ).toBe(200);
    expect((await submit(gid, { status: "done" })).body.message).toBe(
      'req_extra.status: must be succeed or failed, not "done". FAILURE',
    );
    expect((await submit(gid, { status: "succeed", result: "not base64!" })).body.message).toBe(
      "req_extra.result: must be base64 text. FAILURE",
    );
    expect((await submit(gid, {})).status).toBe(400);
    expect(await dtx.status(gid)).toBe("prepared");
    expect(await submit(gid, { status: "succeed", rollback_reason: "", result: "cmVz" })).toEqual({
      status: 200,
      body: { dtm_result: "SUCCESS" },
    });
    expect((await submit(gid, { status: "succeed", result: "cmVz" })).status).toBe(200);
    const other = await submit(gid, { status: "failed", rollback_reason: "late" });
    expect([other.status, other.body.message]).toEqual([
      409,
      "current status 'succeed', cannot sumbmit. FAILURE",
    ]);
    expect((await dtx.query(gid)).transaction).toMatchObject({ status: "succeed", result: "cmVz" });
  });

  test("an unknown gid → an error, nothing stored", async () => {
    const gid = freshGid("wf-unknown");
    const res = await submit(gid, { status: "succeed" });
    expect([res.status, res.body.message]).toEqual([404, `no TransGlobal with gid: ${gid} found. FAILURE`]);
    expect((await dtx.query(gid)).transaction).toBeNull();
  });
});
