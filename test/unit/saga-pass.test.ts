/**
 * A saga's passes in the core alone: the in-memory repository and a scripted branch caller, no
 * database, no listener. What is asserted is what a user sees: the stored statuses, the rollback
 * reason, the calls made and their order, and what is written when.
 */
import {
  memoryEngine,
  newSaga,
  recordWrites,
  storedVector,
  type MemoryEngine,
} from "../support/memory-engine";

let m: MemoryEngine;
beforeEach(() => {
  m = memoryEngine();
});

test("every action succeeds: actions in step order, then succeed in one write", async () => {
  const writes = recordWrites(m);
  const { trans } = await m.engine.submit(
    newSaga(
      "s1",
      [
        ["a1", "c1"],
        ["a2", "c2"],
      ],
      { waitResult: true },
    ),
  );
  expect(trans.status).toBe("succeed");
  expect(await storedVector(m, "s1")).toEqual(["succeed", ["P", "S", "P", "S"]]);
  expect(m.caller.calls.map((c) => [c.url, c.op, c.branchId, c.payload.toString()])).toEqual([
    ["http://rm/a1", "action", "01", "p0"],
    ["http://rm/a2", "action", "02", "p1"],
  ]);
  expect(writes.map((w) => [w.fromStatus, w.toStatus, w.ownerAfter])).toEqual([["submitted", "succeed", ""]]);
});

test("a FAILURE rolls back: `aborting` is written before the first compensation, compensations in reverse", async () => {
  const writes = recordWrites(m);
  m.caller.script("a2", { outcome: "FAILURE", detail: "no money" });
  const { trans } = await m.engine.submit(
    newSaga(
      "s2",
      [
        ["a1", "c1"],
        ["a2", "c2"],
      ],
      { waitResult: true },
    ),
  );
  expect(trans).toMatchObject({
    status: "failed",
    rollbackReason: "url:http://rm/a2 return failed: no money",
  });
  expect(await storedVector(m, "s2")).toEqual(["failed", ["S", "S", "S", "F"]]);
  expect(m.caller.routes()).toEqual(["a1", "a2", "c2", "c1"]);
  expect(writes.map((w) => [w.fromStatus, w.toStatus])).toEqual([
    ["submitted", "aborting"],
    ["aborting", "failed"],
  ]);
});

test("ONGOING leaves the saga submitted, due after the retry interval; the next look finishes it", async () => {
  m.caller.script("a1", "ONGOING");
  const t0 = Date.now();
  await m.engine.submit(newSaga("s3", [["a1", "c1"]], { retryIntervalMs: 60_000 }));
  await m.engine.settled("s3");
  const first = (await m.engine.get("s3"))!.trans;
  expect([first.status, first.owner, first.nextCronIntervalMs]).toEqual(["submitted", "", 60_000]);
  expect(first.nextCronTime!.getTime()).toBeGreaterThanOrEqual(t0 + 60_000);
  expect(await m.engine.recoverOnce(10)).toEqual([]); // not due yet
  expect(await m.engine.recoverOnce(10, 61_000)).toEqual(["s3"]);
  expect(await storedVector(m, "s3")).toEqual(["succeed", ["P", "S"]]);
  expect(m.caller.routes()).toEqual(["a1", "a1"]);
});

test("concurrent with orders: independent steps start together, a dependant after its prerequisite", async () => {
  const orders = new Map([[2, [0, 1]]]);
  await m.engine.submit(
    newSaga(
      "s4",
      [
        ["a1", "c1"],
        ["a2", "c2"],
        ["a3", "c3"],
      ],
      { waitResult: true },
      { concurrent: true, orders },
    ),
  );
  expect(await storedVector(m, "s4")).toEqual(["succeed", ["P", "S", "P", "S", "P", "S"]]);
  const urls = m.caller.routes();
  expect(urls.slice(0, 2).sort()).toEqual(["a1", "a2"]);
  expect(urls[2]).toBe("a3");
});

test("a timed-out saga is compensated where its outcome is unknown, with dtm's reason", async () => {
  m.caller.setDefault("a1", "ONGOING");
  await m.engine.submit(
    newSaga(
      "s5",
      [
        ["a1", "c1"],
        ["a2", "c2"],
      ],
      { timeoutToFailMs: 60_000 },
    ),
  );
  await m.engine.settled("s5");
  m.clock.advance(120_000);
  expect(await m.engine.recoverOnce(10)).toEqual(["s5"]);
  const { trans } = (await m.engine.get("s5"))!;
  expect([trans.status, trans.rollbackReason]).toEqual(["failed", "Timeout after 60 seconds"]);
  expect(await storedVector(m, "s5")).toEqual(["failed", ["S", "P", "P", "P"]]);
  expect(m.caller.routes()).toEqual(["a1", "c1"]);
});

test("a submit of a finished saga is dtm's FAILURE and calls nothing", async () => {
  await m.engine.submit(newSaga("s6", [["a1", "c1"]], { waitResult: true }));
  m.caller.calls.length = 0;
  await expect(m.engine.submit(newSaga("s6", [["a1", "c1"]]))).rejects.toThrow(
    "current status 'succeed', cannot sumbmit",
  );
  expect(m.caller.calls).toEqual([]);
});

describe("retry_limit: in-pass retries are spaced", () => {
  /** Milliseconds between consecutive calls of a route. */
  const gaps = (name: string): number[] => {
    const at = m.caller.calls.filter((c) => c.url.endsWith(`/${name}`)).map((c) => c.at);
    return at.slice(1).map((t, i) => t - at[i]!);
  };

  test("at most one retry interval apart: ERROR×2 then SUCCESS → succeed", async () => {
    m = memoryEngine({ settings: { requestTimeoutMs: 1000 } }); // a 3 s pass budget
    m.caller.script("a1", "ERROR", "ERROR");
    const saga = newSaga("rl1", [["a1", "c1"]], { retryLimit: 2, retryIntervalMs: 200, waitResult: true });
    expect((await m.engine.submit(saga)).trans.status).toBe("succeed");
    expect(gaps("a1")).toHaveLength(2);
    for (const gap of gaps("a1")) expect(gap).toBeGreaterThanOrEqual(190);
  });

  test("spread over the pass budget when the interval is longer; the limit still ends the pass", async () => {
    m = memoryEngine({ settings: { requestTimeoutMs: 100 } }); // a 2.1 s pass budget, a 10 s interval
    m.caller.setDefault("a1", "ONGOING");
    const { trans } = await m.engine.submit(
      newSaga("rl2", [["a1", "c1"]], { retryLimit: 3, waitResult: true }),
    );
    expect([trans.status, trans.rollbackReason]).toEqual([
      "failed",
      "RetryCount is greater than RetryLimit, RetryLimit: 3",
    ]);
    expect(gaps("a1")).toHaveLength(3);
    for (const gap of gaps("a1")) expect(gap).toBeGreaterThanOrEqual(350);
    expect(gaps("a1").reduce((a, b) => a + b, 0)).toBeLessThan(2100);
  });
});
