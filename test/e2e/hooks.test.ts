/**
 * The observability hooks of a running coordinator: one Connect interceptor list that sees every
 * call of the services (gRPC and the REST gateway alike), a wrapper around the branch caller, and
 * the store's statement hooks.
 */
import type { Interceptor } from "@connectrpc/connect";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import type { BranchRequest } from "../../src/core/branch-caller";
import type { StatementEvent } from "../../src/store/store";
import { BranchServices } from "../support/branch-services";
import { newSchemaName, TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let rm: BranchServices;
let sessions: Http2SessionManager;
const intercepted: string[] = [];
const branchCalls: BranchRequest[] = [];

const record: Interceptor = (next) => async (req) => {
  intercepted.push(`${req.service.typeName}/${req.method.name}`);
  return next(req);
};

beforeAll(async () => {
  rm = await BranchServices.start();
  dtx = await TestCoordinator.start({}, newSchemaName(), {
    interceptors: [record],
    wrapCaller: (caller) => ({
      call: (protocol, req) => {
        branchCalls.push(req);
        return caller.call(protocol, req);
      },
    }),
  });
  sessions = new Http2SessionManager(dtx.base);
});
afterAll(async () => {
  sessions?.abort();
  await dtx?.close();
  await rm?.close();
});

test("one interceptor list runs for gRPC calls and for the REST gateway's", async () => {
  const client = createClient(
    CoordinatorService,
    createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }),
  );
  await client.newGid({});
  expect((await dtx.get("/v1/transactions?pageSize=1")).status).toBe(200);
  expect(intercepted).toEqual([
    "dtx.v1.CoordinatorService/NewGid",
    "dtx.v1.CoordinatorService/ListTransactions",
  ]);
});

test("the branch caller wrapper sees every branch call; statement hooks see every statement", async () => {
  const statements: StatementEvent[] = [];
  const stop = dtx.app.store.onStatement((e) => statements.push(e));
  try {
    const res = await dtx.post("/api/dtmsvr/submit", {
      gid: "hooks-1",
      trans_type: "saga",
      wait_result: true,
      steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
      payloads: ["{}"],
    });
    expect(res.status).toBe(200);
  } finally {
    stop();
  }
  expect(branchCalls.map((c) => [c.gid, c.op, c.url])).toEqual([["hooks-1", "action", rm.url("TransOut")]]);
  expect(statements.map((s) => [s.name, s.rows, s.error])).toEqual([
    ["insertTrans", 1, undefined],
    ["savePass", 1, undefined],
  ]);
  for (const s of statements) expect(s.durationMs).toBeGreaterThanOrEqual(0);
});
