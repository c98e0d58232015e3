/**
 * Admission control: submits beyond admission.maxInFlight wait in a queue of admission.maxQueued; one
 * more is refused at once, and one that waits past admission.maxWait is refused too — HTTP 503 with
 * Retry-After (gRPC RESOURCE_EXHAUSTED), nothing written. Once a pass ends, submits go through again.
 */
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { request } from "undici";
import { CoordinatorService } from "../../gen/dtx/v1/coordinator_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
  dtx = await TestCoordinator.start({
    admission: { maxInFlight: 2, maxQueued: 1, maxWait: 300 },
    // a hanging branch holds its pass (and its slot) for this long
    branch: { requestTimeout: 1500 },
  });
});
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
}, 20_000);

function saga(gid: string): Record<string, unknown> {
  return {
    gid,
    trans_type: "saga",
    steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
    payloads: ['{"amount":1}'],
  };
}

async function submit(gid: string): Promise<{ status: number; retryAfter: unknown; body: any }> {
  const res = await request(`${dtx.base}/api/dtmsvr/submit`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(saga(gid)),
  });
  return { status: res.statusCode, retryAfter: res.headers["retry-after"], body: await res.body.json() };
}

/** Waits until a submit waits in the admission queue. */
async function untilQueued(): Promise<void> {
  while (dtx.app.engine.queuedSubmits === 0) await new Promise((r) => setTimeout(r, 5));
}

test("past the in-flight slots and the queue: 503 with Retry-After, nothing written; then served again", async () => {
  rm.script("TransOut", "HANG", "HANG");
  // two passes hang: both slots taken
  expect((await submit("ad-1")).status).toBe(200);
  expect((await submit("ad-2")).status).toBe(200);
  await rm.waitForCalls(2);
  // the third waits in the queue, the fourth finds it full; the third is refused when its wait is over
  const queued = submit("ad-3");
  await untilQueued();
  const full = await submit("ad-4");
  expect(full.status).toBe(503);
  expect(full.retryAfter).toBe("1");
  expect(full.body.message).toContain("admission.maxQueued");
  const waited = await queued;
  expect(waited.status).toBe(503);
  expect(waited.retryAfter).toBe("1");
  expect(waited.body.message).toContain("admission.maxWait");
  for (const gid of ["ad-3", "ad-4"]) expect((await dtx.query(gid)).transaction).toBeNull();
  expect(rm.calls().filter((c) => c.gid === "ad-3" || c.gid === "ad-4")).toEqual([]);

  // the hanging calls time out, their passes end: submits are admitted again
  await dtx.settled();
  expect((await submit("ad-5")).status).toBe(200);
  await dtx.settled();
  expect(await dtx.status("ad-5")).toBe("succeed");
});

test("gRPC: a submit with no room is RESOURCE_EXHAUSTED", async () => {
  const sessions = new Http2SessionManager(dtx.base);
  const native = createClient(
    CoordinatorService,
    createGrpcTransport({ baseUrl: dtx.base, sessionManager: sessions }),
  );
  try {
    rm.clearCalls();
    rm.script("TransOut", "HANG", "HANG");
    expect((await submit("ag-1")).status).toBe(200);
    expect((await submit("ag-2")).status).toBe(200);
    await rm.waitForCalls(2);
    const queued = submit("ag-3");
    await untilQueued();
    const err = await native
      .submitSaga({ gid: "ag-4", saga: { steps: [{ action: rm.url("TransOut") }] } })
      .then(() => null)
      .catch((e: unknown) => ConnectError.from(e));
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect((await queued).status).toBe(503);
    expect((await dtx.query("ag-4")).transaction).toBeNull();
    await dtx.settled();
  } finally {
    sessions.abort();
  }
});
