/**
 * dtm's other SDKs' TCC flows against dtx, with the exact requests they send (dtm-sdks notes §1–3): the
 * Node SDK (`dtmcli-js`: registerTccBranch with `try` and `status`, the try called with `branch_type=try`
 * and no `op`), the Python SDK (`dtmcli`: registerBranch with `status`, the try with `op=try` and no
 * `dtm`), and the Node gRPC SDK (`dtmgrpc-node`: an old DtmTransOptions with field 4, PassthroughHeaders,
 * which dtx does not know). Each runs a transfer that succeeds and one whose second try fails.
 */
import { create } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { DtmTransOptionsSchema } from "../../gen/dtmgimp/dtmgimp_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, summary } from "./saga-helpers";
import { ApTrans, GoGrpcAp, grpcAnswer, send, type Answer } from "./two-phase-ap";

let dtx: TestCoordinator;
let rm: BranchServices;
let grpc: GoGrpcAp;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  grpc = new GoGrpcAp(dtx, rm);
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  grpc?.close();
  await rm?.close();
  await dtx?.close();
});

/** One SDK's TCC: its global-transaction calls and its branch call (registration + try). */
interface TccSdk {
  /** prepare, submit and abort, as the SDK sends each. */
  global(gid: string, op: "prepare" | "submit" | "abort"): Promise<Answer>;
  /** Registers branch `branchId` and calls its try; true when the SDK would accept the try's answer. */
  branch(gid: string, branchId: string, body: object, names: [string, string, string]): Promise<boolean>;
  /** What a successful coordinator call looks like to it. */
  ok: (a: Answer) => boolean;
}

const dtmPath = (route: string): string => `${dtx.base}/api/dtmsvr/${route}`;
const post = (url: string, body: unknown) => send(url, JSON.stringify(body), {});
const http200 = (a: Answer): boolean => a.status === 200 && !a.body.includes("FAILURE");

const sdks: Record<string, () => TccSdk> = {
  "Node (dtmcli-js, tccGlobalTransaction with options)": () => ({
    // the options variant: a JS Map for branch_headers serialises to {}
    global: (gid, op) =>
      post(dtmPath(op), {
        gid,
        trans_type: "tcc",
        wait_result: false,
        retry_interval: 10,
        timeout_to_fail: 60,
        branch_headers: {},
      }),
    async branch(gid, branchId, body, [tryName, confirm, cancel]) {
      const data = JSON.stringify(body);
      const reg = await post(dtmPath("registerTccBranch"), {
        gid,
        branch_id: branchId,
        trans_type: "tcc",
        status: "prepared",
        data,
        try: rm.url(tryName),
        confirm: rm.url(confirm),
        cancel: rm.url(cancel),
      });
      if (reg.status !== 200) return false;
      const q = new URLSearchParams({ gid, trans_type: "tcc", branch_id: branchId, branch_type: "try" });
      return (await post(`${rm.url(tryName)}?${q}`, body)).status < 300; // axios throws on non-2xx
    },
    ok: (a) => a.status === 200,
  }),
  "Python (dtmcli, tcc_global_transaction)": () => ({
    global: (gid, op) => post(dtmPath(op), { gid, trans_type: "tcc" }),
    async branch(gid, branchId, body, [tryName, confirm, cancel]) {
      const reg = await post(dtmPath("registerBranch"), {
        gid,
        branch_id: branchId,
        trans_type: "tcc",
        status: "prepared",
        data: JSON.stringify(body),
        confirm: rm.url(confirm),
        cancel: rm.url(cancel),
      });
      if (!http200(reg)) return false;
      const q = new URLSearchParams({ gid, trans_type: "tcc", branch_id: branchId, op: "try" });
      return http200(await post(`${rm.url(tryName)}?${q}`, body));
    },
    ok: http200,
  }),
  "Node gRPC (dtmgrpc-node)": () => ({
    global: (gid, op) => {
      // its DtmTransOptions still has field 4, repeated string PassthroughHeaders
      const options = create(DtmTransOptionsSchema);
      const passthrough = new BinaryWriter().string("x-request-id").finish();
      options.$unknown = [{ no: 4, wireType: WireType.LengthDelimited, data: passthrough }];
      const req = { Gid: gid, TransType: "tcc", TransOptions: options };
      return grpcAnswer(
        op === "prepare"
          ? grpc.dtm.prepare(req)
          : op === "submit"
            ? grpc.dtm.submit(req)
            : grpc.dtm.abort(req),
      );
    },
    async branch(gid, branchId, body, [tryName, confirm, cancel]) {
      const payload = Buffer.from(JSON.stringify(body));
      const reg = await grpcAnswer(
        grpc.dtm.registerBranch({
          Gid: gid,
          BranchID: branchId,
          TransType: "tcc",
          BusiPayload: payload,
          Data: { confirm: rm.grpcUrl(confirm), cancel: rm.grpcUrl(cancel) },
        }),
      );
      if (reg.status !== 0) return false;
      // the SDK leaves the try to the application, which calls it with the dtm-* metadata
      const tried = await grpc.invoke(rm.grpcUrl(tryName), payload, new ApTrans(gid), branchId, "tcc", "try");
      return tried.status === 0;
    },
    ok: (a) => a.status === 0,
  }),
};

const OUT = { amount: 30, user: 1 };
const IN = { amount: 30, user: 2 };

/** The SDK's tcc global transaction: prepare, two branches, submit — or abort when a branch failed. */
async function transfer(sdk: TccSdk, gid: string): Promise<"submit" | "abort"> {
  expect(sdk.ok(await sdk.global(gid, "prepare"))).toBe(true);
  const done =
    (await sdk.branch(gid, "01", OUT, ["TransOutTry", "TransOutConfirm", "TransOutRevert"])) &&
    (await sdk.branch(gid, "02", IN, ["TransInTry", "TransInConfirm", "TransInRevert"]));
  const op = done ? "submit" : "abort";
  expect(sdk.ok(await sdk.global(gid, op))).toBe(true);
  return op;
}

describe.each(Object.keys(sdks))("%s", (name) => {
  test("a transfer: prepare, two branches, submit → succeed; confirms 02 then 01", async () => {
    const gid = freshGid("sdk-ok");
    expect(await transfer(sdks[name]!(), gid)).toBe("submit");
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "succeed", ["P", "S", "P", "S"]);
    const confirms = callsOf(rm, gid).filter((c) => c.op === "confirm");
    expect(summary(confirms)).toEqual([
      ["TransInConfirm", "confirm", "02"],
      ["TransOutConfirm", "confirm", "01"],
    ]);
    expect(confirms.map((c) => JSON.parse(c.body.toString()))).toEqual([IN, OUT]);
  });

  test("the second try fails → abort → both cancelled, 02 first → failed", async () => {
    const gid = freshGid("sdk-fail");
    rm.script("TransInTry", "FAIL");
    expect(await transfer(sdks[name]!(), gid)).toBe("abort");
    await dtx.settled(gid);
    await expectSaga(dtx, gid, "failed", ["S", "P", "S", "P"]);
    expect(summary(callsOf(rm, gid).filter((c) => c.op === "cancel"))).toEqual([
      ["TransInRevert", "cancel", "02"],
      ["TransOutRevert", "cancel", "01"],
    ]);
  });
});
