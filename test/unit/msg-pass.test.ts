/**
 * 2-phase messages in the core alone (in-memory repository and topics, scripted branch caller):
 * direct submit, prepare → submit / abort, the check-back of a prepared message past its timeout,
 * delay, sequential and concurrent delivery, topic fan-out. Asserted: stored statuses and rows, the
 * calls made (URL, branch id, op, body) in order, and what is written when.
 */
import { Code } from "@connectrpc/connect";
import { failureOf } from "../support/failure-of";
import {
  memoryEngine,
  newMsg,
  recordWrites,
  storedVector,
  type MemoryEngine,
} from "../support/memory-engine";

let m: MemoryEngine;
beforeEach(() => {
  m = memoryEngine();
});

/** `[route, branch_id, op]` of every call. */
function calls(): Array<[string, string, string]> {
  return m.caller.calls.map((c) => [c.url.slice(c.url.lastIndexOf("/") + 1), c.branchId, c.op]);
}

/** One recovery claim with the clock `forwardMs` ahead (dtm's cronTransOnceForwardNow). */
async function cron(forwardMs = 0): Promise<string[]> {
  m.clock.advance(forwardMs);
  try {
    return await m.engine.recoverOnce(100);
  } finally {
    m.clock.resetOffset();
  }
}

test("direct submit: steps in order with their bodies, then succeed in one write", async () => {
  const writes = recordWrites(m);
  const { trans } = await m.engine.submit(newMsg("d1", ["TransOut", "TransIn"], { waitResult: true }));
  expect(trans.status).toBe("succeed");
  expect(await storedVector(m, "d1")).toEqual(["succeed", ["S", "S"]]);
  expect(m.caller.calls.map((c) => [c.url, c.branchId, c.op, c.transType, c.payload.toString()])).toEqual([
    ["http://rm/TransOut", "01", "action", "msg", "m0"],
    ["http://rm/TransIn", "02", "action", "msg", "m1"],
  ]);
  expect(writes.map((w) => [w.fromStatus, w.toStatus])).toEqual([["submitted", "succeed"]]);
});

test("a step's FAILURE is retried, never rolled back: delivery stops there and resumes at the next look", async () => {
  m.caller.script("TransOut", "FAILURE");
  await m.engine.submit(newMsg("d2", ["TransOut", "TransIn"]));
  await m.engine.settled("d2");
  expect(await storedVector(m, "d2")).toEqual(["submitted", ["P", "P"]]);
  const { trans } = (await m.engine.get("d2"))!;
  expect(trans.nextCronIntervalMs).toBe(20_000); // backed off as an error
  expect(await cron(20_000)).toEqual(["d2"]);
  expect(await storedVector(m, "d2")).toEqual(["succeed", ["S", "S"]]);
  expect(calls()).toEqual([
    ["TransOut", "01", "action"],
    ["TransOut", "01", "action"],
    ["TransIn", "02", "action"],
  ]);
});

test("concurrent: every step is called at once; the ones that failed are retried alone", async () => {
  m.caller.script("TransIn", "ERROR");
  await m.engine.submit(newMsg("c1", ["TransOut", "TransIn", "Step3"], {}, { concurrent: true }));
  await m.engine.settled("c1");
  expect(await storedVector(m, "c1")).toEqual(["submitted", ["S", "P", "S"]]);
  expect(
    calls()
      .map((c) => c[0])
      .sort(),
  ).toEqual(["Step3", "TransIn", "TransOut"]);
  m.caller.calls.length = 0;
  await cron(20_000);
  expect(await storedVector(m, "c1")).toEqual(["succeed", ["S", "S", "S"]]);
  expect(calls()).toEqual([["TransIn", "02", "action"]]);
});

describe("prepare → submit / abort", () => {
  test("prepare is idempotent while prepared; submit delivers the stored rows", async () => {
    await m.engine.prepare(newMsg("p1", ["TransOut"]));
    await m.engine.prepare(newMsg("p1", ["TransOut"]));
    expect(await storedVector(m, "p1")).toEqual(["prepared", ["P"]]);
    expect(m.caller.calls).toEqual([]);
    await m.engine.submit(newMsg("p1", ["TransOut"], { waitResult: true }));
    expect(await storedVector(m, "p1")).toEqual(["succeed", ["S"]]);
    const err = await failureOf(m.engine.prepare(newMsg("p1", ["TransOut"])));
    expect([err.code, err.rawMessage]).toEqual([Code.Aborted, "current status 'succeed', cannot prepare"]);
  });

  test("abort fails a prepared message without calling anything; a submitted one cannot be aborted", async () => {
    await m.engine.prepare(newMsg("p2", ["TransOut"]));
    const { trans } = await m.engine.abort({ gid: "p2", transType: "msg", rollbackReason: "" });
    expect(trans.status).toBe("failed");
    expect(await storedVector(m, "p2")).toEqual(["failed", ["P"]]);
    await m.engine.submit(newMsg("p3", ["TransOut"]));
    await m.engine.settled("p3");
    const err = await failureOf(m.engine.abort({ gid: "p3", transType: "msg", rollbackReason: "" }));
    expect(err.rawMessage).toBe("trans type: 'msg' current status 'succeed', cannot abort");
    expect(calls()).toEqual([["TransOut", "01", "action"]]);
  });

  test("a message cannot be prepared without its check-back URL (nothing written)", async () => {
    const err = await failureOf(m.engine.prepare(newMsg("p4", ["TransOut"], {}, { queryPrepared: "" })));
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      "query_prepared: is required to prepare a message: it is asked whether to send it",
    ]);
    expect(await m.engine.get("p4")).toBeNull();
    // a direct submit needs none
    await m.engine.submit(newMsg("p4", ["TransOut"], { waitResult: true }, { queryPrepared: "" }));
    expect(await storedVector(m, "p4")).toEqual(["succeed", ["S"]]);
  });

  test("the submit's delay counts although the prepare had none (dtm's Go SDK sends it with the submit only)", async () => {
    await m.engine.prepare(newMsg("p5", ["TransOut"]));
    const { trans } = await m.engine.submit(
      newMsg("p5", ["TransOut"], { waitResult: true }, { delayMs: 10_000 }),
    );
    expect(trans.status).toBe("submitted");
    expect(trans.settings).toEqual({ kind: "msg", delayMs: 10_000 });
    expect(m.caller.calls).toEqual([]);
    expect(await cron(8_000)).toEqual([]);
    expect(await cron(10_000)).toEqual(["p5"]);
    expect(await storedVector(m, "p5")).toEqual(["succeed", ["S"]]);
  });
});

describe("check-back of a prepared message past its timeout (GET query_prepared, branch 00, op msg)", () => {
  test("not before the timeout: the prepared message comes due at it (the server's 35 s)", async () => {
    const { trans } = await m.engine.prepare(newMsg("q1", ["TransOut"]));
    expect(trans.nextCronTime!.getTime() - trans.createTime.getTime()).toBe(35_000);
    expect(await cron(30_000)).toEqual([]);
    expect(await m.engine.recoverOnce(100, 40_000)).toEqual(["q1"]); // looked at early
    expect(m.caller.calls).toEqual([]);
    const after = (await m.engine.get("q1"))!.trans;
    expect([after.status, after.nextCronTime!.getTime()]).toEqual([
      "prepared",
      trans.createTime.getTime() + 35_000,
    ]);
  });

  test("SUCCESS: submitted (written before any step), then delivered", async () => {
    const writes = recordWrites(m);
    await m.engine.prepare(newMsg("q2", ["TransOut", "TransIn"], { timeoutToFailMs: 120_000 }));
    expect(await cron(60_000)).toEqual([]);
    expect(await cron(121_000)).toEqual(["q2"]);
    expect(await storedVector(m, "q2")).toEqual(["succeed", ["S", "S"]]);
    expect(m.caller.calls.map((c) => [c.url, c.branchId, c.op, c.payload.length])).toEqual([
      ["http://rm/QueryPrepared", "00", "msg", 0],
      ["http://rm/TransOut", "01", "action", 2],
      ["http://rm/TransIn", "02", "action", 2],
    ]);
    expect(writes.map((w) => [w.fromStatus, w.toStatus, w.ownerAfter === ""])).toEqual([
      ["prepared", "submitted", false],
      ["submitted", "succeed", true],
    ]);
  });

  test("ONGOING stays prepared and is asked again after the base interval; FAILURE fails it, no step called", async () => {
    m.caller.script("QueryPrepared", "ONGOING", "FAILURE");
    await m.engine.prepare(newMsg("q3", ["TransOut"]));
    expect(await cron(36_000)).toEqual(["q3"]);
    let { trans } = (await m.engine.get("q3"))!;
    expect([trans.status, trans.nextCronIntervalMs]).toEqual(["prepared", 10_000]);
    expect(await cron(36_000 + 11_000)).toEqual(["q3"]);
    ({ trans } = (await m.engine.get("q3"))!);
    expect([trans.status, trans.rollbackReason]).toEqual([
      "failed",
      "query_prepared answered FAILURE: FAILURE",
    ]);
    expect(await storedVector(m, "q3")).toEqual(["failed", ["P"]]);
    expect(calls()).toEqual([
      ["QueryPrepared", "00", "msg"],
      ["QueryPrepared", "00", "msg"],
    ]);
  });

  test("an error backs off and stays prepared", async () => {
    m.caller.script("QueryPrepared", "ERROR");
    await m.engine.prepare(newMsg("q4", ["TransOut"]));
    await cron(36_000);
    const { trans } = (await m.engine.get("q4"))!;
    expect([trans.status, trans.nextCronIntervalMs]).toEqual(["prepared", 20_000]);
  });
});

describe("delay", () => {
  test("no step before the delay (measured from creation); delivered at the first look after it", async () => {
    const { trans } = await m.engine.submit(newMsg("dl1", ["TransOut"], {}, { delayMs: 10_000 }));
    await m.engine.settled("dl1");
    const after = (await m.engine.get("dl1"))!.trans;
    expect([after.status, after.nextCronTime!.getTime()]).toEqual([
      "submitted",
      trans.createTime.getTime() + 10_000,
    ]);
    expect(await cron(0)).toEqual([]);
    expect(await cron(8_000)).toEqual([]);
    expect(await m.engine.recoverOnce(100, 11_000)).toEqual(["dl1"]); // a look before the delay delivers nothing
    expect(m.caller.calls).toEqual([]);
    expect(await cron(12_000)).toEqual(["dl1"]);
    expect(await storedVector(m, "dl1")).toEqual(["succeed", ["S"]]);
  });
});

describe("topics", () => {
  test("a topic step fans out to every subscriber: branch ids 01-01, 01-02 …; a lone subscriber keeps 02", async () => {
    await m.topics.subscribe("t1", "http://rm/TransOut", "");
    await m.topics.subscribe("t1", "http://rm/TransIn", "");
    await m.topics.subscribe("t2", "http://rm/Step3", "");
    await m.engine.submit(newMsg("f1", ["topic://t1", "topic://t2"], { waitResult: true }));
    const { branches } = (await m.engine.get("f1"))!;
    expect(branches.map((b) => [b.branchId, b.url, b.payload.toString()])).toEqual([
      ["01-01", "http://rm/TransOut", "m0"],
      ["01-02", "http://rm/TransIn", "m0"],
      ["02", "http://rm/Step3", "m1"],
    ]);
    expect(calls()).toEqual([
      ["TransOut", "01-01", "action"],
      ["TransIn", "01-02", "action"],
      ["Step3", "02", "action"],
    ]);
  });

  test("an unknown or empty topic is bad input and writes nothing", async () => {
    let err = await failureOf(m.engine.submit(newMsg("f2", ["TransOut", "topic://nobody"])));
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      'steps[1].action: topic not found: "nobody" has no subscribers',
    ]);
    await m.topics.subscribe("t3", "http://rm/TransOut", "");
    await m.topics.unsubscribe("t3", "http://rm/TransOut");
    err = await failureOf(m.engine.prepare(newMsg("f2", ["topic://t3"])));
    expect(err.rawMessage).toBe('steps[0].action: topic not found: "t3" has no subscribers');
    expect(await m.engine.get("f2")).toBeNull();
    expect(m.caller.calls).toEqual([]);
  });

  test("a prepared message whose topic is deleted since is still submitted, to the subscribers it was prepared with", async () => {
    await m.topics.subscribe("t4", "http://rm/TransOut", "");
    await m.engine.prepare(newMsg("f3", ["topic://t4"]));
    await m.topics.deleteTopic("t4");
    await m.engine.submit(newMsg("f3", ["topic://t4"], { waitResult: true }));
    expect(await storedVector(m, "f3")).toEqual(["succeed", ["S"]]);
    expect(calls()).toEqual([["TransOut", "01", "action"]]);
  });
});
