/**
 * Workflow end to end over dtm's gRPC API (`dtmgimp.Dtm/PrepareWorkflow`, `RegisterBranch`,
 * `Submit` with `ReqExtra`) and a gRPC callback (`workflow.Workflow/Execute` with a `WorkflowData`
 * message): the gRPC variants of scenarios 53–57 and scenario 59 of §10.3 (dtm's
 * workflow_grpc_test.go, workflow_ongoing_test.go).
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { WfError, WorkflowClient, type Workflow } from "../support/workflow-client";
import { callsOf, dropLeftoverScripts, freshGid, summary } from "./saga-helpers";
import { failureOf, lastReply, progressRows, RESUME } from "./workflow-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let client: WorkflowClient;
let sessions: Http2SessionManager;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  client = await WorkflowClient.start(dtx.base, "grpc");
  sessions = new Http2SessionManager(dtx.base);
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  sessions?.abort();
  await client?.close();
  await dtx?.close();
  await rm?.close();
});

// a protobuf-encoded busi request (amount 30), as a gRPC workflow's input
const INPUT = Buffer.from([0x08, 0x1e]);
const REQ = { amount: 30 };

test("gRPC 53: all steps OK → succeed; the transaction is stored with protocol grpc", async () => {
  const gid = freshGid("wfg-normal");
  client.register(gid, async (wf) => {
    await wf.newBranch().post(rm.url("TransOut"), REQ);
    await wf.newBranch().post(rm.url("TransIn"), REQ);
  });
  await client.execute(gid, gid, INPUT);
  const { transaction } = await dtx.query(gid);
  expect(transaction).toMatchObject({ status: "succeed", protocol: "grpc", query_prepared: client.callback });
  expect(await progressRows(dtx, gid)).toEqual([
    ["01", "action", "succeed"],
    ["02", "action", "succeed"],
  ]);
  expect(lastReply(client, gid).Progresses).toEqual([]);
});

test("gRPC 54: a step FAILs → rollback recorded, submit failed → failed with the reason", async () => {
  const gid = freshGid("wfg-rollback");
  client.register(gid, async (wf) => {
    await wf
      .newBranch()
      .onRollback(async () => void (await wf.call(rm.url("TransOutRevert"), REQ)))
      .post(rm.url("TransOut"), REQ);
    await wf.newBranch().post(rm.url("TransIn"), REQ);
  });
  rm.script("TransIn", "FAIL");
  expect((await failureOf(client.execute(gid, gid, INPUT))).kind).toBe("FAILURE");
  const { transaction } = await dtx.query(gid);
  expect(transaction.status).toBe("failed");
  expect(transaction.rollback_reason).toContain("Insufficient balance");
  expect(await progressRows(dtx, gid)).toEqual([
    ["01", "action", "succeed"],
    ["02", "action", "failed"],
    ["01", "rollback", "succeed"],
  ]);
});

test("gRPC 55: ERR first → prepared; cron resumes it over gRPC with WorkflowData and dtm-* metadata → succeed", async () => {
  const gid = freshGid("wfg-resume");
  client.register(gid, async (wf) => void (await wf.newBranch().post(rm.url("TransOut"), REQ)));
  rm.script("TransOut", "ERR");
  expect((await failureOf(client.execute(gid, gid, INPUT))).kind).toBe("ERROR");
  expect(await dtx.status(gid)).toBe("prepared");

  expect(await dtx.cron(RESUME)).toContain(gid);
  expect(await dtx.status(gid)).toBe("succeed");
  const resumes = client.resumes.filter((r) => r.gid === gid);
  expect(resumes).toEqual([
    {
      transport: "grpc",
      method: "/workflow.Workflow/Execute",
      gid,
      transType: "workflow",
      branchId: "00",
      op: gid,
      // WorkflowData{Data: input}: field 1, length 2, the input
      body: Buffer.from([0x0a, 0x02, 0x08, 0x1e]),
    },
  ]);
});

test("gRPC 56: a finished workflow's result comes back over gRPC too (dtm leaves it empty)", async () => {
  const gid = freshGid("wfg-result");
  let runs = 0;
  client.register(gid, async (wf) => {
    runs++;
    await wf.newBranch().post(rm.url("TransOut"), REQ);
    return Buffer.from([1, 2, 3]);
  });
  expect([...(await client.execute(gid, gid, INPUT))]).toEqual([1, 2, 3]);
  expect([...(await client.execute(gid, gid, INPUT))]).toEqual([1, 2, 3]);
  expect(runs).toBe(1);
  expect(lastReply(client, gid).Transaction).toMatchObject({ Gid: gid, Status: "succeed", Result: "AQID" });
});

test("gRPC 57: RegisterBranch of a taken (BranchID, op) → ABORTED; bad Data → INVALID_ARGUMENT naming it", async () => {
  const gid = freshGid("wfg-conflict");
  client.register(gid, async () => {
    throw new WfError("ONGOING", "not yet");
  });
  await failureOf(client.execute(gid, gid, INPUT));
  const dtm = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }));
  const register = (Data: Record<string, string>) =>
    dtm.registerBranch({
      Gid: gid,
      TransType: "workflow",
      BranchID: "01",
      BusiPayload: Buffer.from("r"),
      Data,
    });
  await register({ op: "action", status: "succeed" });
  const errorOf = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => ConnectError.from(e),
    );
  const dup = await errorOf(register({ op: "action", status: "failed" }));
  expect([dup?.code, dup?.rawMessage]).toEqual([Code.Aborted, `branch 01 of ${gid} is registered already`]);
  const bad = await errorOf(register({ op: "action", status: "ok" }));
  expect([bad?.code, bad?.rawMessage]).toEqual([
    Code.InvalidArgument,
    'Data.status: must be succeed or failed, not "ok"',
  ]);
  expect(await progressRows(dtx, gid)).toEqual([["01", "action", "succeed"]]);
});

test("59: ONGOING at five points, forward and rollback → prepared after 4 cron passes, failed after the 5th", async () => {
  const gid = freshGid("wfg-ongoing");
  let step = 0;
  /** ONGOING once, when the workflow reaches point `n` for the first time. */
  const ongoingAt = (n: number): void => {
    if (step !== n) return;
    step++;
    throw new WfError("ONGOING", `ongoing at ${n}`);
  };
  client.register(
    gid,
    async (wf: Workflow) => {
      ongoingAt(0);
      await wf
        .newBranch()
        .onRollback(async () => {
          ongoingAt(4);
          await wf.call(rm.url("TransOutRevert"), REQ);
        })
        .post(rm.url("TransOut"), REQ);
      ongoingAt(1);
      await wf
        .newBranch()
        .onRollback(async () => {
          ongoingAt(3);
          await wf.call(rm.url("TransInRevert"), REQ);
        })
        .do(async () => {
          try {
            await wf.call(rm.url("TransIn"), REQ);
          } finally {
            ongoingAt(2);
          }
        });
    },
    { compensateErrorBranch: true },
  );
  rm.setDefault("TransIn", "FAIL");
  try {
    expect((await failureOf(client.execute(gid, gid, INPUT))).kind).toBe("ONGOING");
    expect(await dtx.status(gid)).toBe("prepared");
    for (let pass = 1; pass <= 4; pass++) {
      expect(await dtx.cron(RESUME)).toContain(gid);
      expect([pass, await dtx.status(gid)]).toEqual([pass, "prepared"]);
    }
    await dtx.cron(RESUME);
    expect(await dtx.status(gid)).toBe("failed");
  } finally {
    rm.setDefault("TransIn", "OK");
  }
  expect(step).toBe(5);
  expect(await progressRows(dtx, gid)).toEqual([
    ["01", "action", "succeed"],
    ["02", "action", "failed"],
    ["02", "rollback", "succeed"],
    ["01", "rollback", "succeed"],
  ]);
  expect(client.resumes.filter((r) => r.gid === gid)).toHaveLength(5);
  // each RM operation ran once its step was reached: TransIn's FAILURE was not recorded (ONGOING
  // came after it), so it ran again on the next replay
  expect(summary(callsOf(rm, gid))).toEqual([
    ["TransOut", "action", "01"],
    ["TransIn", "action", "02"],
    ["TransIn", "action", "02"],
    ["TransInRevert", "rollback", "02"],
    ["TransOutRevert", "rollback", "01"],
  ]);
});
