/**
 * dtm's SDKs' message flows against dtx, request for request (Go, Node, Python, the JSON-RPC client, Go's
 * gRPC client; test/support/dtm-msg-clients.ts): scenarios 50–52 of §10.3 with the test playing the AP —
 * a local transaction and a barrier table of its own (test/support/msg-ap.ts) — and prepare/submit with
 * a delay as each SDK sends it.
 */
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { msgClients, SdkError, type MsgClient, type MsgSpec } from "../support/dtm-msg-clients";
import { Duplicated, TestAp } from "../support/msg-ap";
import { callsOf, dropLeftoverScripts, expectSaga, freshGid, summary } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let ap: TestAp;
let clients: MsgClient[];

beforeAll(async () => {
  [dtx, rm, ap] = await Promise.all([TestCoordinator.start(), BranchServices.start(), TestAp.start()]);
  clients = msgClients(dtx);
});
afterEach(() => dropLeftoverScripts(rm));
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
  await ap?.close();
});

const IN = '{"amount":30,"user":2}';

/** A one-step message (TransIn) of `client`, checked back at the AP's barrier. */
function message(client: MsgClient, prefix: string, delay?: number): MsgSpec {
  const grpc = client.transport === "grpc";
  return {
    gid: freshGid(`${prefix}-${client.name}`),
    steps: [{ action: grpc ? rm.grpcUrl("TransIn") : rm.url("TransIn"), payload: IN }],
    queryPrepared: grpc ? ap.queryPreparedGrpc : ap.queryPreparedUrl,
    delay,
  };
}

const names = ["Go", "Node", "Python", "JSON-RPC", "gRPC"];

describe.each(names)("%s SDK", (name) => {
  const client = (): MsgClient => clients.find((c) => c.name === name)!;

  test("50: DoAndSubmit, the local transaction commits → succeed [S], TransIn called once with its body", async () => {
    const m = message(client(), "do-submit");
    const before = await ap.balance(1);
    expect(await client().doAndSubmit(ap, m, TestAp.debit(30))).toBeNull();
    await dtx.settled(m.gid);
    await expectSaga(dtx, m.gid, "succeed", ["S"]);
    expect(await ap.balance(1)).toBe(before - 30);
    const calls = callsOf(rm, m.gid);
    expect(summary(calls)).toEqual([["TransIn", "action", "01"]]);
    expect(calls[0]!.body.toString()).toBe(IN);
  });

  test("51: the local transaction fails (not FAILURE) → the check-back says FAILURE → failed, no step called", async () => {
    const m = message(client(), "do-busi-failed");
    const before = await ap.balance(1);
    const err = await client().doAndSubmit(ap, m, async (tx) => {
      await TestAp.debit(30)(tx);
      throw new Error("an error");
    });
    expect(err).not.toBeNull();
    if (name === "Node") {
      // Node's SDK does not abort after a FAILURE check-back: dtx's own check-back decides at the timeout
      await expectSaga(dtx, m.gid, "prepared", ["P"]);
      expect(await dtx.cron({ forwardMs: 40_000 })).toContain(m.gid);
    }
    await expectSaga(dtx, m.gid, "failed", ["P"]);
    expect(await ap.balance(1)).toBe(before);
    expect(callsOf(rm, m.gid)).toEqual([]);
  });

  test("52: the coordinator's check-back comes before the local transaction → failed; the local one is a duplicate", async () => {
    const m = message(client(), "do-busi-later");
    const before = await ap.balance(1);
    const err = await client().doAndSubmit(ap, m, TestAp.debit(30), async () => {
      expect(await dtx.cron({ forwardMs: 40_000 })).toContain(m.gid);
      await expectSaga(dtx, m.gid, "failed", ["P"]);
    });
    // Node's SDK answers the duplicate with the check-back's FAILURE; the others return the duplicate itself
    expect(err).toBeInstanceOf(name === "Node" ? SdkError : Duplicated);
    await expectSaga(dtx, m.gid, "failed", ["P"]);
    expect(await ap.balance(1)).toBe(before);
    expect(callsOf(rm, m.gid)).toEqual([]);
  });
});

describe.each(["Go", "Node", "JSON-RPC", "gRPC"])("%s SDK: prepare, then submit with a delay", (name) => {
  test("the submit's delay counts (the prepare carries none): nothing before it, delivered after", async () => {
    const client = clients.find((c) => c.name === name)!;
    const m = message(client, "delay", 10);
    await client.prepare(m);
    expect((await dtx.query(m.gid)).transaction.custom_data).toBeUndefined();
    await client.submit(m);
    await dtx.settled(m.gid);
    const { transaction } = await dtx.query(m.gid);
    expect([transaction.status, transaction.custom_data]).toEqual(["submitted", '{"delay":10}']);
    expect(await dtx.cron({ forwardMs: 8_000, lookAheadMs: 0 })).not.toContain(m.gid);
    expect(callsOf(rm, m.gid)).toEqual([]);
    expect(await dtx.cron({ forwardMs: 11_000, lookAheadMs: 0 })).toContain(m.gid);
    await expectSaga(dtx, m.gid, "succeed", ["S"]);
  });
});

test("Python's body (null strings, passthrough_headers, request_timeout 8) is taken as dtm takes it", async () => {
  const python = clients.find((c) => c.name === "Python")!;
  const m = message(python, "python-shape");
  await python.prepare(m);
  const { transaction } = await dtx.query(m.gid);
  expect(transaction).toMatchObject({
    status: "prepared",
    protocol: "http",
    query_prepared: m.queryPrepared,
  });
  expect(JSON.parse(transaction.options)).toEqual({ request_timeout: 8, concurrent: false });
  await python.abort(m);
  await expectSaga(dtx, m.gid, "failed", ["P"]);
});
