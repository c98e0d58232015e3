/**
 * The SDK's TCC against a real coordinator and real branch services (scenarios 24–27, 29 and 31 of
 * §10.3 through the SDK): registration then try, confirm or cancel by the coordinator, abort and
 * rethrow when the function throws, nested branches from inside a try, over HTTP and gRPC.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { SagaBranchService } from "../../gen/dtx/v1/branch_pb";
import {
  BranchFailure,
  connectBranch,
  Coordinator,
  httpBranch,
  isBranchFailure,
  type BranchContext,
} from "../../src/client";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { listenH2c, listenHttp, type Listening } from "../support/listen";
import { callsOf, freshGid, summary } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let http: Coordinator;
let grpc: Coordinator;
/** A try that adds a nested branch through the coordinator it is told about (`dtm`), over HTTP and gRPC. */
let nestedHttp: Listening;
let nestedGrpc: Listening;

async function nest(ctx: BranchContext, leaf: (name: string) => string): Promise<void> {
  const sdk = Coordinator.connect(ctx.dtm);
  try {
    await sdk.tccFrom(ctx).callBranch({
      try: leaf("TransInTry"),
      confirm: leaf("TransInConfirm"),
      cancel: leaf("TransInCancel"),
      payload: ctx.dtm.startsWith("http") ? { user: "carol", amount: 30 } : Uint8Array.of(1, 2),
    });
  } finally {
    await sdk.close();
  }
}

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  http = Coordinator.http(dtx.base);
  grpc = Coordinator.grpc(dtx.grpcTarget);
  nestedHttp = await listenHttp(httpBranch((call) => nest(call.ctx, (n) => rm.url(n))));
  nestedGrpc = await listenH2c(
    connectNodeAdapter({
      routes: (r) =>
        r.service(SagaBranchService, {
          action: connectBranch(({ ctx }) => nest(ctx, (n) => rm.grpcUrl(n))),
          compensate: connectBranch(() => undefined),
        }),
    }),
  );
});
afterAll(async () => {
  await http?.close();
  await grpc?.close();
  await Promise.all([nestedHttp?.close(), nestedGrpc?.close()]);
  await rm?.close();
  await dtx?.close();
});

/** Two branches tried in order, then confirmed by the coordinator, last registered first. */
const TRIED_THEN_CONFIRMED = [
  ["TransOutTry", "try", "01"],
  ["TransInTry", "try", "02"],
  ["TransInConfirm", "confirm", "02"],
  ["TransOutConfirm", "confirm", "01"],
];
const OUT = { user: "alice", amount: 30 };
const IN = { user: "bob", amount: 30 };
const branch = (prefix: string, payload: unknown, url = (n: string) => rm.url(n)) => ({
  try: url(`${prefix}Try`),
  confirm: url(`${prefix}Confirm`),
  cancel: url(`${prefix}Cancel`),
  payload: payload as never,
});

describe("over HTTP", () => {
  test("two branches: each registered then tried; the coordinator confirms them, last first", async () => {
    const gid = freshGid("sdk-tcc");
    const { gid: got, result } = await http.tcc(
      async (tcc) => {
        const reply = await tcc.callBranch(branch("TransOut", OUT));
        await tcc.callBranch(branch("TransIn", IN));
        return reply.json();
      },
      { gid, waitResult: true },
    );
    expect([got, result]).toEqual([gid, { dtm_result: "SUCCESS" }]);
    expect(await dtx.status(gid)).toBe("succeed");
    const { branches } = await dtx.query(gid);
    expect(branches.map((b) => `${b.branch_id}/${b.op}/${b.status}`)).toEqual([
      "01/cancel/prepared",
      "01/confirm/succeed",
      "02/cancel/prepared",
      "02/confirm/succeed",
    ]);
    expect(Buffer.from(branches[0].bin_data, "base64").toString()).toBe(JSON.stringify(OUT));
    const calls = callsOf(rm, gid);
    expect(summary(calls)).toEqual(TRIED_THEN_CONFIRMED);
    // the try carries dtm's query parameters, dtm among them
    const tryCall = calls[0]!;
    expect([tryCall.method, tryCall.transType, JSON.parse(tryCall.body.toString())]).toEqual([
      "POST",
      "tcc",
      OUT,
    ]);
    expect(rm.calls().length).toBeGreaterThan(0);
  });

  test("a try that fails aborts: every registered branch is cancelled and the failure is rethrown", async () => {
    const gid = freshGid("sdk-tcc-fail");
    rm.script("TransInTry", "FAIL");
    const err = await http
      .tcc(
        async (tcc) => {
          await tcc.callBranch(branch("TransOut", OUT));
          await tcc.callBranch(branch("TransIn", IN));
        },
        { gid, waitResult: true },
      )
      .catch((e: unknown) => e);
    expect(isBranchFailure(err)).toBe(true);
    expect((err as BranchFailure).message).toContain("Insufficient balance");
    expect(await dtx.status(gid)).toBe("failed");
    const { transaction } = await dtx.query(gid);
    expect(transaction.rollback_reason).toContain("Insufficient balance");
    expect(summary(callsOf(rm, gid)).slice(2)).toEqual([
      ["TransInCancel", "cancel", "02"],
      ["TransOutCancel", "cancel", "01"],
    ]);
  });

  test("the function's own error aborts and is rethrown as it was (not swallowed)", async () => {
    const gid = freshGid("sdk-tcc-throw");
    const mine = new Error("the order was withdrawn");
    const err = await http
      .tcc(
        async (tcc) => {
          await tcc.callBranch(branch("TransOut", OUT));
          throw mine;
        },
        { gid, waitResult: true },
      )
      .catch((e: unknown) => e);
    expect(err).toBe(mine);
    expect(await dtx.status(gid)).toBe("failed");
    expect((await dtx.query(gid)).transaction.rollback_reason).toBe("the order was withdrawn");
  });

  test("a function that throws before any branch leaves a failed transaction without rows", async () => {
    const gid = freshGid("sdk-tcc-empty");
    await expect(
      http.tcc(
        async () => {
          throw new Error("nothing to do");
        },
        { gid },
      ),
    ).rejects.toThrow("nothing to do");
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("failed");
    expect((await dtx.query(gid)).branches).toEqual([]);
  });

  test("a try adds a nested branch through the coordinator it was told about; confirms run 0201, 02, 01", async () => {
    const gid = freshGid("sdk-tcc-nested");
    const nestedUrl = `http://127.0.0.1:${nestedHttp.port}/nested`;
    await http.tcc(
      async (tcc) => {
        await tcc.callBranch(branch("TransOut", OUT));
        await tcc.callBranch({
          try: nestedUrl,
          confirm: rm.url("TransInConfirm"),
          cancel: rm.url("TransInCancel"),
          payload: IN,
        });
      },
      { gid, waitResult: true },
    );
    expect(await dtx.status(gid)).toBe("succeed");
    expect(await dtx.branchVector(gid)).toEqual(["P", "S", "P", "S", "P", "S"]);
    expect(summary(callsOf(rm, gid))).toEqual([
      ["TransOutTry", "try", "01"],
      ["TransInTry", "try", "0201"],
      ["TransInConfirm", "confirm", "0201"],
      ["TransInConfirm", "confirm", "02"],
      ["TransOutConfirm", "confirm", "01"],
    ]);
  });

  test("a transaction that outlives timeoutToFail is cancelled by the coordinator", async () => {
    const gid = freshGid("sdk-tcc-timeout");
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const running = http.tcc(
      async (tcc) => {
        await tcc.callBranch(branch("TransOut", OUT));
        await held;
      },
      { gid, timeoutToFail: "60s" },
    );
    await rm.waitForCalls(1);
    while (callsOf(rm, gid).length === 0) await new Promise((r) => setTimeout(r, 10));
    await dtx.cron({ forwardMs: 120_000 });
    expect(await dtx.status(gid)).toBe("failed");
    release();
    // the late submit is refused: the SDK says what the coordinator answered
    await expect(running).rejects.toThrow(/coordinator answered submit of .* with 409 FAILURE/);
    expect(summary(callsOf(rm, gid)).at(-1)).toEqual(["TransOutCancel", "cancel", "01"]);
  });
});

describe("over gRPC", () => {
  test("gRPC branches: the try gets dtm-* metadata with the coordinator's target; confirms follow", async () => {
    const gid = freshGid("sdk-gtcc");
    await grpc.tcc(
      async (tcc) => {
        await tcc.callBranch(branch("TransOut", Uint8Array.of(8, 30), (n) => rm.grpcUrl(n)));
        await tcc.callBranch(branch("TransIn", Uint8Array.of(8, 31), (n) => rm.grpcUrl(n)));
      },
      { gid, waitResult: true, branchHeaders: { "x-tenant": "t7" } },
    );
    expect(await dtx.status(gid)).toBe("succeed");
    const calls = callsOf(rm, gid);
    expect(summary(calls)).toEqual(TRIED_THEN_CONFIRMED);
    expect([
      calls[0]!.headers["dtm-dtm"],
      calls[0]!.headers["dtm-trans_type"],
      calls[0]!.headers["x-tenant"],
      [...calls[0]!.body],
    ]).toEqual([dtx.grpcTarget, "tcc", "t7", [8, 30]]);
    expect(calls[2]!.headers["x-tenant"]).toBe("t7");
  });

  test("a try answering ABORTED aborts the transaction; the cancels run", async () => {
    const gid = freshGid("sdk-gtcc-fail");
    rm.script("TransInTry", "FAIL");
    const err = await grpc
      .tcc(
        async (tcc) => {
          await tcc.callBranch(branch("TransOut", Uint8Array.of(1), (n) => rm.grpcUrl(n)));
          await tcc.callBranch(branch("TransIn", Uint8Array.of(2), (n) => rm.grpcUrl(n)));
        },
        { gid, waitResult: true },
      )
      .catch((e: unknown) => e);
    expect(isBranchFailure(err)).toBe(true);
    expect(await dtx.status(gid)).toBe("failed");
    expect(await dtx.branchVector(gid)).toEqual(["S", "P", "S", "P"]);
  });

  test("a nested branch from a Connect try, registered over gRPC", async () => {
    const gid = freshGid("sdk-gtcc-nested");
    const nestedUrl = `127.0.0.1:${nestedGrpc.port}/${SagaBranchService.typeName}/Action`;
    await grpc.tcc(
      async (tcc) => {
        await tcc.callBranch({
          try: nestedUrl,
          confirm: rm.grpcUrl("TransOutConfirm"),
          cancel: rm.grpcUrl("TransOutCancel"),
        });
      },
      { gid, waitResult: true },
    );
    expect(await dtx.status(gid)).toBe("succeed");
    expect(summary(callsOf(rm, gid))).toEqual([
      ["TransInTry", "try", "0101"],
      ["TransInConfirm", "confirm", "0101"],
      ["TransOutConfirm", "confirm", "01"],
    ]);
  });
});
