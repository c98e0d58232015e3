/**
 * The lifecycle verbs — prepare, submit, abort, registerBranch — generic over kinds, exercised with
 * two small test kinds (a TCC-like one and a check-back one) over the in-memory repository; and the
 * saga's refusals with the real registry.
 */
import { Code } from "@connectrpc/connect";
import { atTimeout } from "../../src/core/due";
import { defaultOptions, type NewTrans, type TransOptions } from "../../src/core/model";
import type { TransKind } from "../../src/core/trans-kind";
import { failureOf } from "../support/failure-of";
import { memoryEngine, newSaga, rmUrl, type MemoryEngine } from "../support/memory-engine";

/** TCC-like: prepared by the client, cancel + confirm rows registered per branch, driven last to first. */
const tccLike: TransKind = {
  lifecycle: { prepare: true, submit: true, abort: { from: ["prepared", "aborting"], to: "aborting" } },
  validate: () => undefined,
  branchesOf: () => [],
  settingsOf: () => ({ kind: "tcc" }),
  encodeSettings: () => "",
  decodeSettings: () => ({ kind: "tcc" }),
  registration: (r) => [
    { branchId: r.branchId, op: "cancel", url: r.fields.cancel!, payload: r.payload },
    { branchId: r.branchId, op: "confirm", url: r.fields.confirm!, payload: r.payload },
  ],
  firstDue: atTimeout,
  async runPass(pass) {
    if (pass.trans.status === "prepared") {
      if (!pass.timedOut(true)) return;
      pass.setStatus("aborting", "Timeout");
    }
    if (pass.trans.status === "aborting" && pass.storedStatus !== "aborting") {
      await pass.checkpoint();
      await pass.reloadBranches(); // a branch registered before the checkpoint is cancelled too
    }
    const op = pass.trans.status === "submitted" ? "confirm" : "cancel";
    for (const b of [...pass.branches].reverse()) {
      if (b.op !== op || b.status !== "prepared") continue;
      if ((await pass.call(b, { failureIsFinal: false })).outcome !== "SUCCESS") return;
      pass.setBranchStatus(b, "succeed");
    }
    pass.setStatus(op === "confirm" ? "succeed" : "failed");
  },
};

/** Check-back-like: abort fails it outright; a pass asks `query_prepared` and looks again at an hour. */
const checkBackLike: TransKind = {
  ...tccLike,
  lifecycle: { prepare: true, submit: true, abort: { from: ["prepared"], to: "failed" } },
  settingsOf: () => ({ kind: "xa" }),
  decodeSettings: () => ({ kind: "xa" }),
  async runPass(pass) {
    const r = await pass.callUrl({
      url: pass.trans.queryPrepared,
      branchId: "00",
      op: "msg",
      payload: Buffer.alloc(0),
    });
    if (r.outcome === "SUCCESS") pass.setStatus("succeed");
    else pass.scheduleAt(new Date(pass.trans.createTime.getTime() + 3_600_000));
  },
};

let m: MemoryEngine;
beforeEach(() => {
  m = memoryEngine({ kinds: { tcc: tccLike, xa: checkBackLike } });
});

function newTrans(gid: string, kind: "tcc" | "xa", options: Partial<TransOptions> = {}): NewTrans {
  return {
    gid,
    protocol: "http",
    queryPrepared: rmUrl("QueryPrepared"),
    options: { ...defaultOptions(), ...options },
    definition: { kind },
  };
}

function register(gid: string, branchId: string, transType = "tcc") {
  return m.engine.registerBranch({
    gid,
    transType,
    branchId,
    fields: { cancel: rmUrl(`Cancel${branchId}`), confirm: rmUrl(`Confirm${branchId}`) },
    payload: Buffer.from(branchId),
  });
}

describe("prepare", () => {
  test("creates the transaction prepared, unleased, first due at its timeout", async () => {
    const { trans } = await m.engine.prepare(newTrans("p1", "tcc", { timeoutToFailMs: 60_000 }));
    expect(trans).toMatchObject({ status: "prepared", owner: "" });
    expect(trans.nextCronTime!.getTime() - trans.createTime.getTime()).toBe(60_000);
    const dflt = (await m.engine.prepare(newTrans("p2", "tcc"))).trans;
    expect(dflt.nextCronTime!.getTime() - dflt.createTime.getTime()).toBe(35_000); // the server's timeoutToFail
    expect(await m.engine.recoverOnce(10, 30_000)).toEqual([]); // not every retry interval
  });

  test("again while prepared: success, nothing rewritten; once submitted: dtm's FAILURE", async () => {
    const first = (await m.engine.prepare(newTrans("p3", "tcc"))).trans;
    expect((await m.engine.prepare(newTrans("p3", "tcc", { timeoutToFailMs: 1000 }))).trans).toEqual(first);
    await m.engine.submit(newTrans("p3", "tcc", { waitResult: true }));
    const err = await failureOf(m.engine.prepare(newTrans("p3", "tcc")));
    expect([err.code, err.rawMessage]).toEqual([Code.Aborted, "current status 'succeed', cannot prepare"]);
  });
});

describe("registerBranch", () => {
  test("adds the kind's rows to a prepared transaction; submit confirms them last to first", async () => {
    await m.engine.prepare(newTrans("g1", "tcc"));
    await register("g1", "01");
    await register("g1", "02");
    const rows = (await m.engine.get("g1"))!.branches.map((b) => [
      b.branchId,
      b.op,
      b.status,
      b.payload.toString(),
    ]);
    expect(rows).toEqual([
      ["01", "cancel", "prepared", "01"],
      ["01", "confirm", "prepared", "01"],
      ["02", "cancel", "prepared", "02"],
      ["02", "confirm", "prepared", "02"],
    ]);
    const { trans } = await m.engine.submit(newTrans("g1", "tcc", { waitResult: true }));
    expect(trans.status).toBe("succeed");
    expect(m.caller.routes()).toEqual(["Confirm02", "Confirm01"]);
  });

  test("a branch registered twice is refused and adds nothing", async () => {
    await m.engine.prepare(newTrans("g2", "tcc"));
    await register("g2", "01");
    const err = await failureOf(register("g2", "01"));
    expect(err.code).toBe(Code.AlreadyExists);
    expect((await m.engine.get("g2"))!.branches).toHaveLength(2);
  });

  test("only while prepared: dtm's FAILURE otherwise, and for an unknown gid", async () => {
    for (const gid of ["g3", "nowhere"]) {
      if (gid === "g3") await m.engine.submit(newTrans(gid, "tcc", { waitResult: true }));
      const err = await failureOf(register(gid, "01"));
      expect([err.code, err.rawMessage]).toEqual([
        Code.Aborted,
        `no trans with gid: ${gid} status: prepared found`,
      ]);
    }
  });
});

describe("submit of a prepared transaction", () => {
  test("takes the lease from a recovery pass that only looked at it: that pass's write loses", async () => {
    await m.engine.prepare(newTrans("s1", "tcc", { timeoutToFailMs: 1000 }));
    await register("s1", "01");
    const [claimed] = await m.repository.claimDue({
      owner: "recovery",
      now: new Date(),
      dueBefore: new Date(Date.now() + 5000),
      leaseUntil: new Date(Date.now() + 60_000),
      limit: 1,
    });
    expect(claimed?.trans.owner).toBe("recovery");
    const { trans } = await m.engine.submit(newTrans("s1", "tcc", { waitResult: true }));
    expect(trans.status).toBe("succeed");
    const late = await m.repository.savePass({
      gid: "s1",
      owner: "recovery",
      ownerAfter: "",
      fromStatus: "prepared",
      toStatus: "aborting",
      rollbackReason: "",
      now: new Date(),
      nextCronTime: null,
      nextCronIntervalMs: 0,
      branches: [],
    });
    expect(late).toBe(false);
    expect((await m.engine.get("s1"))!.trans.status).toBe("succeed");
  });
});

describe("abort", () => {
  test("prepared → aborting with the reason, cancels driven; then the FAILURE of a finished one", async () => {
    await m.engine.prepare(newTrans("a1", "tcc"));
    await register("a1", "01");
    await register("a1", "02");
    const { trans } = await m.engine.abort({
      gid: "a1",
      transType: "tcc",
      rollbackReason: "try failed",
      waitResult: true,
    });
    expect(trans).toMatchObject({ status: "failed", rollbackReason: "try failed" });
    expect(m.caller.routes()).toEqual(["Cancel02", "Cancel01"]);
    const again = await failureOf(m.engine.abort({ gid: "a1", transType: "tcc", rollbackReason: "" }));
    expect([again.code, again.rawMessage]).toEqual([
      Code.Aborted,
      "trans type: 'tcc' current status 'failed', cannot abort",
    ]);
  });

  test("the request's kind must be the stored one; an unknown gid is not found", async () => {
    await m.engine.prepare(newTrans("a2", "tcc"));
    const wrong = await failureOf(m.engine.abort({ gid: "a2", transType: "xa", rollbackReason: "" }));
    expect(wrong.rawMessage).toBe("trans type: 'tcc' current status 'prepared', cannot abort");
    expect((await m.engine.get("a2"))!.trans.status).toBe("prepared");
    const missing = await failureOf(m.engine.abort({ gid: "a-none", transType: "tcc", rollbackReason: "" }));
    expect([missing.code, missing.rawMessage]).toEqual([
      Code.NotFound,
      "no TransGlobal with gid: a-none found",
    ]);
  });

  test("a kind whose abort fails it outright: failed, nothing called", async () => {
    await m.engine.prepare(newTrans("a3", "xa"));
    const { trans } = await m.engine.abort({ gid: "a3", transType: "xa", rollbackReason: "local tx failed" });
    expect(trans).toMatchObject({ status: "failed", rollbackReason: "local tx failed", nextCronTime: null });
    expect(m.caller.calls).toEqual([]);
  });
});

describe("the pass a kind works with", () => {
  test("a branch registered between the claim and the move to aborting is still cancelled", async () => {
    await m.engine.prepare(newTrans("t1", "tcc", { timeoutToFailMs: 1000 }));
    await register("t1", "01");
    const save = m.repository.savePass.bind(m.repository);
    m.repository.savePass = async (w) => {
      // the pass has claimed t1 and is about to write `aborting`: a registration slips in first
      if (w.toStatus === "aborting") await register("t1", "02");
      return save(w);
    };
    m.clock.advance(2000);
    expect(await m.engine.recoverOnce(10)).toEqual(["t1"]);
    const { trans, branches } = (await m.engine.get("t1"))!;
    expect([trans.status, trans.rollbackReason]).toEqual(["failed", "Timeout"]);
    expect(m.caller.routes()).toEqual(["Cancel02", "Cancel01"]);
    expect(branches.filter((b) => b.op === "cancel").map((b) => b.status)).toEqual(["succeed", "succeed"]);
  });

  test("callUrl calls a URL that is no branch row; scheduleAt sets the next look", async () => {
    m.caller.script("QueryPrepared", "ONGOING");
    const { trans: created } = await m.engine.submit(newTrans("t2", "xa"));
    await m.engine.settled("t2");
    const t = (await m.engine.get("t2"))!.trans;
    expect(t.nextCronTime).toEqual(new Date(created.createTime.getTime() + 3_600_000));
    expect(m.caller.calls.map((c) => [c.url, c.branchId, c.op])).toEqual([
      [rmUrl("QueryPrepared"), "00", "msg"],
    ]);
  });
});

describe("a saga refuses the other verbs, with dtm's texts", () => {
  beforeEach(() => {
    m = memoryEngine();
  });

  test("prepare, abort and registerBranch", async () => {
    const prepare = await failureOf(m.engine.prepare(newSaga("r1", [["a1", "c1"]])));
    expect([prepare.code, prepare.rawMessage]).toEqual([
      Code.InvalidArgument,
      "trans_type: trans type: 'saga' cannot prepare",
    ]);
    expect(await m.engine.get("r1")).toBeNull();
    await m.engine.submit(newSaga("r1", [["a1", "c1"]], { waitResult: true }));
    const abort = await failureOf(m.engine.abort({ gid: "r1", transType: "saga", rollbackReason: "" }));
    expect(abort.rawMessage).toBe("trans type: 'saga' current status 'succeed', cannot abort");
    const reg = await failureOf(register("r1", "01", "saga"));
    expect([reg.code, reg.rawMessage]).toEqual([Code.InvalidArgument, "trans_type: unknow trans type: saga"]);
  });
});
