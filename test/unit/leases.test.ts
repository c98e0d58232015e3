/**
 * Leases in the core alone (in-memory repository, scripted branches): who may drive a transaction
 * when, and what the retry schedule leaves for the next look.
 */
import { memoryEngine, newSaga, type MemoryEngine } from "../support/memory-engine";

let m: MemoryEngine;
beforeEach(() => {
  m = memoryEngine();
});

/** Resolves the first pending call of `name` when `release` is called; other calls answer at once. */
function holdFirstCall(m: MemoryEngine, name: string): { release: () => void; called: Promise<void> } {
  let release!: () => void;
  let called!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const calledP = new Promise<void>((r) => (called = r));
  const call = m.caller.call.bind(m.caller);
  let held = false;
  m.caller.call = async (protocol, req) => {
    if (!held && req.url.endsWith(`/${name}`)) {
      held = true;
      called();
      await gate;
    }
    return call(protocol, req);
  };
  return { release, called: calledP };
}

test("a submit leases the saga to its own pass: recovery claims nothing while it runs", async () => {
  const hold = holdFirstCall(m, "a1");
  await m.engine.submit(newSaga("l1", [["a1", "c1"]]));
  await hold.called;
  const leased = (await m.engine.get("l1"))!.trans;
  expect(leased.owner).not.toBe("");
  expect(await m.engine.recoverOnce(10)).toEqual([]);
  hold.release();
  await m.engine.settled("l1");
  expect((await m.engine.get("l1"))!.trans).toMatchObject({
    status: "succeed",
    owner: "",
    nextCronTime: null,
  });
});

test("a duplicate submit leaves a saga alone while a live lease drives it; once free, it re-drives it", async () => {
  m.caller.script("a1", "ONGOING");
  await m.engine.submit(newSaga("l2", [["a1", "c1"]]));
  await m.engine.settled("l2");
  // another coordinator claims it (a lease of its own) and is still running its pass
  const other = await m.repository.claimByGid({
    gid: "l2",
    statuses: ["submitted"],
    owner: "elsewhere",
    now: new Date(Date.now() + 3_600_000),
    leaseUntil: new Date(Date.now() + 3_700_000),
  });
  expect(other?.owner).toBe("elsewhere");
  const calls = m.caller.calls.length;
  expect((await m.engine.submit(newSaga("l2", [["a1", "c1"]]))).trans.status).toBe("submitted");
  expect(m.caller.calls.length).toBe(calls); // nothing called
  m.clock.advance(3_800_000); // that lease expired
  const { trans } = await m.engine.submit(newSaga("l2", [["a1", "c1"]], { waitResult: true }));
  expect(trans.status).toBe("succeed");
  expect(m.caller.routes()).toEqual(["a1", "a1"]);
});

test("a pass whose lease was taken over stops without writing", async () => {
  const hold = holdFirstCall(m, "a1");
  await m.engine.submit(newSaga("l3", [["a1", "c1"]]));
  await hold.called;
  // the lease expired and another coordinator took the saga: the late pass's write must lose
  await m.repository.claimByGid({
    gid: "l3",
    statuses: ["submitted"],
    owner: "thief",
    now: new Date(Date.now() + 3_600_000),
    leaseUntil: new Date(Date.now() + 3_700_000),
  });
  hold.release();
  await m.engine.settled("l3");
  expect((await m.engine.get("l3"))!.trans).toMatchObject({ status: "submitted", owner: "thief" });
});

test("a graceful stop hands back the lease of a pass that does not end in time", async () => {
  const hold = holdFirstCall(m, "a1");
  await m.engine.submit(newSaga("l4", [["a1", "c1"]]));
  await hold.called;
  const before = Date.now();
  await m.engine.close(50);
  const t = (await m.engine.get("l4"))!.trans;
  expect(t.status).toBe("submitted");
  expect(t.nextCronTime!.getTime()).toBeLessThanOrEqual(Date.now());
  expect(t.nextCronTime!.getTime()).toBeGreaterThanOrEqual(before - 1000);
  hold.release();
});

describe("the retry schedule the last write leaves", () => {
  const interval = async (gid: string): Promise<number> =>
    (await m.engine.get(gid))!.trans.nextCronIntervalMs;

  test("an error doubles the interval, ONGOING keeps it, a success resets it", async () => {
    m.caller.script("a1", "ERROR", "ERROR", "ONGOING");
    await m.engine.submit(
      newSaga(
        "r1",
        [
          ["a1", "c1"],
          ["a2", "c2"],
        ],
        { retryIntervalMs: 1000 },
      ),
    );
    await m.engine.settled("r1");
    expect(await interval("r1")).toBe(2000);
    await m.engine.recoverOnce(10, 2500);
    expect(await interval("r1")).toBe(4000);
    await m.engine.recoverOnce(10, 4500);
    expect(await interval("r1")).toBe(4000);
    m.caller.script("a2", "ERROR");
    await m.engine.recoverOnce(10, 4500);
    // a1 succeeded (reset to 1000), then a2's error doubled that: answers count in the order they came
    expect(await interval("r1")).toBe(2000);
  });

  test("the doubling stops at retry.maxInterval", async () => {
    m = memoryEngine({ settings: { retry: { intervalMs: 1000, maxIntervalMs: 3000 } } });
    m.caller.setDefault("a1", "ERROR");
    await m.engine.submit(newSaga("r2", [["a1", "c1"]]));
    await m.engine.settled("r2");
    for (const expected of [2000, 3000, 3000]) {
      expect(await interval("r2")).toBe(expected);
      await m.engine.recoverOnce(10, 10_000);
    }
  });
});

test("owner tokens are <coordinator id>-<tag><n>: a recovery thread's never equal its main thread's", async () => {
  const main = memoryEngine({ settings: { identity: { coordinatorId: "c0ffee00", tag: "" } } });
  const thread = memoryEngine({ settings: { identity: { coordinatorId: "c0ffee00", tag: "r" } } });
  const owners: string[] = [];
  for (const [i, e] of [main, thread].entries()) {
    const hold = holdFirstCall(e, "a1");
    await e.engine.submit(newSaga(`id-${i}`, [["a1", "c1"]]));
    await hold.called;
    owners.push((await e.engine.get(`id-${i}`))!.trans.owner);
    hold.release();
    await e.engine.settled(`id-${i}`);
    expect(e.engine.coordinatorId).toBe("c0ffee00");
  }
  expect(owners).toEqual(["c0ffee00-1", "c0ffee00-r1"]);
  // without an identity: a fresh id of its own, and no tag
  const hold = holdFirstCall(m, "a1");
  await m.engine.submit(newSaga("id-2", [["a1", "c1"]]));
  await hold.called;
  expect((await m.engine.get("id-2"))!.trans.owner).toBe(`${m.engine.coordinatorId}-1`);
  hold.release();
  await m.engine.settled("id-2");
});
