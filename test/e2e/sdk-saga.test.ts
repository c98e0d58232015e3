/**
 * The SDK's Saga against a real coordinator and real branch services, over dtm's HTTP routes and over
 * its gRPC service: what the branches receive, what the coordinator stored, what the caller sees.
 */
import { Coordinator, isCoordinatorError, type CoordinatorError } from "../../src/client";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, freshGid, summary } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let http: Coordinator;
let grpc: Coordinator;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  http = Coordinator.http(dtx.base);
  grpc = Coordinator.grpc(dtx.grpcTarget);
});
afterAll(async () => {
  await http?.close();
  await grpc?.close();
  await rm?.close();
  await dtx?.close();
});

const OUT = { user: "alice", amount: 30 };
const IN = { user: "bob", amount: 30 };

async function rejection(p: Promise<unknown>): Promise<CoordinatorError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isCoordinatorError(err)) throw new Error(`expected a CoordinatorError, got ${String(err)}`);
  return err;
}

describe("over HTTP", () => {
  test("a saga runs its actions with the payloads as JSON bodies and succeeds", async () => {
    const gid = freshGid("sdk-saga");
    const saga = http
      .saga({ gid, waitResult: true })
      .add(rm.url("SdkOut"), rm.url("SdkOutRevert"), OUT)
      .add(rm.url("SdkIn"), rm.url("SdkInRevert"), IN);
    await expect(saga.submit()).resolves.toBe(gid);
    expect(await dtx.status(gid)).toBe("succeed");
    expect(await dtx.branchVector(gid)).toEqual(["P", "S", "P", "S"]);
    const calls = callsOf(rm, gid);
    expect(summary(calls)).toEqual([
      ["SdkOut", "action", "01"],
      ["SdkIn", "action", "02"],
    ]);
    expect(calls.map((c) => [c.method, c.transType, JSON.parse(c.body.toString())])).toEqual([
      ["POST", "saga", OUT],
      ["POST", "saga", IN],
    ]);
  });

  test("an action's FAILURE rolls back and submit throws what the coordinator answered", async () => {
    const gid = freshGid("sdk-saga-fail");
    rm.script("SdkInFail", "FAIL");
    const err = await rejection(
      http
        .saga({ gid, waitResult: true })
        .add(rm.url("SdkOut"), rm.url("SdkOutRevert"), OUT)
        .add(rm.url("SdkInFail"), rm.url("SdkInRevert"), IN)
        .submit(),
    );
    expect(err).toMatchObject({ operation: "submit", gid, status: 409, result: "FAILURE" });
    expect(err.answer).toContain("Insufficient balance");
    expect(err.message).toContain(`coordinator answered submit of "${gid}" with 409 FAILURE`);
    expect(await dtx.status(gid)).toBe("failed");
    expect(summary(callsOf(rm, gid))).toEqual([
      ["SdkOut", "action", "01"],
      ["SdkInFail", "action", "02"],
      ["SdkInRevert", "compensate", "02"],
      ["SdkOutRevert", "compensate", "01"],
    ]);
  });

  test("without waitResult submit returns once stored; the saga then runs", async () => {
    const saga = http.saga().add(rm.url("SdkOut"), "", OUT);
    const gid = await saga.submit();
    expect(gid).toBe(saga.gid);
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("succeed");
  });

  test("options reach the coordinator in seconds and branch headers reach the branches", async () => {
    const gid = freshGid("sdk-saga-opts");
    await http
      .saga({
        gid,
        waitResult: true,
        timeoutToFail: "2m",
        requestTimeout: 4000,
        retryInterval: "15s",
        retryLimit: 2,
        branchHeaders: { "x-tenant": "t7" },
      })
      .add(rm.url("SdkOut"), "", OUT)
      .submit();
    const { transaction } = await dtx.query(gid);
    expect(JSON.parse(transaction.options)).toEqual({
      wait_result: true,
      timeout_to_fail: 120,
      request_timeout: 4,
      retry_interval: 15,
      retry_limit: 2,
      branch_headers: { "x-tenant": "t7" },
      concurrent: false,
    });
    expect(callsOf(rm, gid)[0]!.headers["x-tenant"]).toBe("t7");
  });

  test("steps with `after` run concurrently, each after the steps it names", async () => {
    const gid = freshGid("sdk-saga-conc");
    rm.script("SdkFirst", "ONG");
    const first = http
      .saga({ gid, waitResult: true })
      .add(rm.url("SdkFirst"), rm.url("SdkFirstRevert"), OUT, { name: "first" })
      .add(rm.url("SdkSecond"), rm.url("SdkSecondRevert"), IN, { after: ["first"] })
      .add(rm.url("SdkThird"), rm.url("SdkThirdRevert"), IN, { after: [0] })
      .add(rm.url("SdkFree"), "", IN)
      .submit();
    // the first pass: the free step ran beside the first one; the dependants wait for it
    expect((await rejection(first)).status).toBe(409);
    expect(
      summary(callsOf(rm, gid))
        .map((s) => s[0])
        .sort(),
    ).toEqual(["SdkFirst", "SdkFree"]);
    expect((await dtx.query(gid)).transaction.custom_data).toBe(
      '{"concurrent":true,"orders":{"1":[0],"2":[0]}}',
    );
    await dtx.cron();
    expect(await dtx.status(gid)).toBe("succeed");
    const order = summary(callsOf(rm, gid)).map((s) => s[0]);
    expect(order.slice(2, 3)).toEqual(["SdkFirst"]);
    expect(order.slice(3).sort()).toEqual(["SdkSecond", "SdkThird"]);
  });

  test("bad input is refused by the coordinator, which names the field", async () => {
    const err = await rejection(http.saga().add("ftp://nowhere", "", OUT).submit());
    expect(err.status).toBe(400);
    expect(err.answer).toContain("steps[0].action");
  });

  test("options dtm's protocol cannot carry and unknown step names are refused at once", () => {
    expect(() => http.saga({ requestTimeout: 1500 })).toThrow(
      /requestTimeout: 1500 is not a whole number of seconds/,
    );
    expect(() => http.saga().add(rm.url("a"), "", {}, { after: ["nope"] })).toThrow(
      /after "nope" names no earlier step/,
    );
  });
});

describe("over gRPC", () => {
  const OUT_BYTES = Uint8Array.from([0x08, 0x1e, 0x10, 0x01]);
  const IN_BYTES = Uint8Array.from([0x08, 0x1e, 0x10, 0x02]);

  test("a saga with gRPC branches sends the payload bytes and dtm-* metadata", async () => {
    const gid = freshGid("sdk-gsaga");
    await grpc
      .saga({ gid, waitResult: true, branchHeaders: { "x-tenant": "t7" } })
      .add(rm.grpcUrl("TransOut"), rm.grpcUrl("TransOutRevert"), OUT_BYTES)
      .add(rm.grpcUrl("TransIn"), rm.grpcUrl("TransInRevert"), IN_BYTES)
      .submit();
    expect(await dtx.status(gid)).toBe("succeed");
    const calls = callsOf(rm, gid);
    expect(
      calls.map((c) => [
        c.transport,
        c.path,
        c.headers["dtm-op"],
        c.headers["dtm-branch_id"],
        c.headers["x-tenant"],
        [...c.body],
      ]),
    ).toEqual([
      ["grpc", "/busi.Busi/TransOut", "action", "01", "t7", [...OUT_BYTES]],
      ["grpc", "/busi.Busi/TransIn", "action", "02", "t7", [...IN_BYTES]],
    ]);
    expect((await dtx.query(gid)).transaction.protocol).toBe("grpc");
  });

  test("a rollback answers ABORTED, which the SDK reports with the coordinator's message", async () => {
    const gid = freshGid("sdk-gsaga-fail");
    rm.script("TransIn", "FAIL");
    const err = await rejection(
      grpc
        .saga({ gid, waitResult: true })
        .add(rm.grpcUrl("TransOut"), rm.grpcUrl("TransOutRevert"), OUT_BYTES)
        .add(rm.grpcUrl("TransIn"), rm.grpcUrl("TransInRevert"), IN_BYTES)
        .submit(),
    );
    expect(err).toMatchObject({ operation: "submit", gid, status: "ABORTED", result: "FAILURE" });
    expect(err.answer).toContain("Insufficient balance");
    expect(await dtx.status(gid)).toBe("failed");
    expect(await dtx.branchVector(gid)).toEqual(["S", "S", "S", "F"]);
  });

  test("bad input is INVALID_ARGUMENT with the coordinator's message as it was written", async () => {
    const err = await rejection(grpc.saga().add("ftp://nowhere", "", OUT_BYTES).submit());
    expect(err.status).toBe("INVALID_ARGUMENT");
    // grpc-message travels percent-encoded: the SDK shows the text, not `%3A`
    expect(err.answer).toMatch(/^Steps\[0\]\.action: /);
  });

  test("a coordinator that is not there is reported as no answer", async () => {
    const nowhere = Coordinator.grpc("127.0.0.1:1", { timeout: "2s" });
    try {
      const err = await rejection(nowhere.saga().add(rm.grpcUrl("TransOut"), "", OUT_BYTES).submit());
      expect(err.status).toBe("UNAVAILABLE");
    } finally {
      await nowhere.close();
    }
  });
});
