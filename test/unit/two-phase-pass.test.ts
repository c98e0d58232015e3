/**
 * The TCC and XA kinds (src/core/tcc.ts, xa.ts over two-phase.ts) on the in-memory engine: the order
 * of the second phase, stopping at the first branch that does not succeed and going on from there,
 * timeouts, registration checks and the race of a registration with the move to `aborting`.
 */
import { Code } from "@connectrpc/connect";
import { defaultOptions, type NewTrans, type TransOptions } from "../../src/core/model";
import { failureOf } from "../support/failure-of";
import { memoryEngine, rmUrl, type MemoryEngine } from "../support/memory-engine";

let m: MemoryEngine;
beforeEach(() => {
  m = memoryEngine();
});

function begin(gid: string, kind: "tcc" | "xa", options: Partial<TransOptions> = {}): NewTrans {
  return {
    gid,
    protocol: "http",
    queryPrepared: "",
    options: { ...defaultOptions(), ...options },
    definition: { kind },
  };
}

function tccBranch(gid: string, branchId: string, fields?: Record<string, string>) {
  return m.engine.registerBranch({
    gid,
    transType: "tcc",
    branchId,
    fields: fields ?? { confirm: rmUrl(`Confirm${branchId}`), cancel: rmUrl(`Cancel${branchId}`) },
    payload: Buffer.from(`body${branchId}`),
  });
}

function xaBranch(gid: string, branchId: string, url = rmUrl(`Xa${branchId}`)) {
  return m.engine.registerBranch({
    gid,
    transType: "xa",
    branchId,
    fields: { url },
    payload: Buffer.alloc(0),
  });
}

async function stored(gid: string) {
  const { trans, branches } = (await m.engine.get(gid))!;
  return {
    status: trans.status,
    reason: trans.rollbackReason,
    rows: branches.map((b) => `${b.branchId}/${b.op}/${b.status}`),
  };
}

const calls = () => m.caller.calls.map((c) => `${c.branchId}/${c.op}`);

describe("tcc", () => {
  test("submit confirms the last registered first, nested after its parent; rows cancel+confirm per branch", async () => {
    await m.engine.prepare(begin("c1", "tcc"));
    await tccBranch("c1", "01");
    await tccBranch("c1", "02");
    await tccBranch("c1", "0201");
    await m.engine.submit(begin("c1", "tcc", { waitResult: true }));
    expect(calls()).toEqual(["0201/confirm", "02/confirm", "01/confirm"]);
    expect(m.caller.calls.map((c) => [c.payload.toString(), c.forcePost ?? false])).toEqual([
      ["body0201", false],
      ["body02", false],
      ["body01", false],
    ]);
    expect(await stored("c1")).toEqual({
      status: "succeed",
      reason: "",
      rows: ["01/cancel/prepared", "01/confirm/succeed", "02/cancel/prepared", "02/confirm/succeed"].concat([
        "0201/cancel/prepared",
        "0201/confirm/succeed",
      ]),
    });
  });

  test("a confirm that does not succeed stops the pass; FAILURE is retried, never a rollback", async () => {
    await m.engine.prepare(begin("c2", "tcc"));
    await tccBranch("c2", "01");
    await tccBranch("c2", "02");
    m.caller.script("Confirm01", "FAILURE", "ONGOING");
    await m.engine.submit(begin("c2", "tcc", { waitResult: true }));
    expect((await stored("c2")).status).toBe("submitted");
    m.clock.advance(60_000);
    await m.engine.recoverOnce(10);
    expect((await stored("c2")).status).toBe("submitted");
    await m.engine.recoverOnce(10, 3_600_000);
    expect(calls()).toEqual(["02/confirm", "01/confirm", "01/confirm", "01/confirm"]);
    expect(await stored("c2")).toMatchObject({ status: "succeed", reason: "" });
  });

  test("abort cancels every registered branch, the last first, and stores the reason", async () => {
    await m.engine.prepare(begin("c3", "tcc"));
    await tccBranch("c3", "01");
    await tccBranch("c3", "02");
    m.caller.script("Cancel01", "ONGOING");
    const { trans } = await m.engine.abort({
      gid: "c3",
      transType: "tcc",
      rollbackReason: "try 02 failed",
      waitResult: true,
    });
    expect(trans.status).toBe("aborting");
    await m.engine.recoverOnce(10, 3_600_000);
    expect(calls()).toEqual(["02/cancel", "01/cancel", "01/cancel"]);
    expect(await stored("c3")).toEqual({
      status: "failed",
      reason: "try 02 failed",
      rows: ["01/cancel/succeed", "01/confirm/prepared", "02/cancel/succeed", "02/confirm/prepared"],
    });
  });

  test("a prepared tcc times out after the server default, naming it; then it is closed to every verb", async () => {
    await m.engine.prepare(begin("c5", "tcc"));
    await tccBranch("c5", "01");
    // a look before the timeout changes nothing and looks again at the timeout
    expect(await m.engine.recoverOnce(10, 3_600_000)).toEqual(["c5"]);
    const created = (await m.engine.get("c5"))!.trans.createTime.getTime();
    expect((await m.engine.get("c5"))!.trans.nextCronTime).toEqual(new Date(created + 35_000));
    expect(calls()).toEqual([]);
    m.clock.advance(35_000);
    await m.engine.recoverOnce(10);
    expect(await stored("c5")).toEqual({
      status: "failed",
      reason: "Timeout after 35 seconds",
      rows: ["01/cancel/succeed", "01/confirm/prepared"],
    });
    const late = await failureOf(tccBranch("c5", "02"));
    expect([late.code, late.rawMessage]).toEqual([
      Code.Aborted,
      "no trans with gid: c5 status: prepared found",
    ]);
    const abort = await failureOf(m.engine.abort({ gid: "c5", transType: "tcc", rollbackReason: "" }));
    expect(abort.rawMessage).toBe("trans type: 'tcc' current status 'failed', cannot abort");
    const submit = await failureOf(m.engine.submit(begin("c5", "tcc")));
    expect(submit.rawMessage).toBe("current status 'failed', cannot sumbmit");
  });

  test("its own timeout_to_fail names its own seconds", async () => {
    await m.engine.prepare(begin("c6", "tcc", { timeoutToFailMs: 5000 }));
    m.clock.advance(5000);
    await m.engine.recoverOnce(10);
    expect(await stored("c6")).toEqual({ status: "failed", reason: "Timeout after 5 seconds", rows: [] });
  });

  test("a branch registered between the claim and the move to aborting is cancelled; one after is refused", async () => {
    await m.engine.prepare(begin("c7", "tcc"));
    await tccBranch("c7", "01");
    const save = m.repository.savePass.bind(m.repository);
    let late: Promise<unknown> = Promise.resolve();
    m.repository.savePass = async (w) => {
      if (w.toStatus !== "aborting") return save(w);
      await tccBranch("c7", "02"); // before the write: part of the rollback
      const saved = await save(w);
      late = failureOf(tccBranch("c7", "03")); // after it: refused
      return saved;
    };
    m.clock.advance(35_000);
    await m.engine.recoverOnce(10);
    expect((await late) as { rawMessage: string }).toMatchObject({
      rawMessage: "no trans with gid: c7 status: prepared found",
    });
    expect(calls()).toEqual(["02/cancel", "01/cancel"]);
    expect(await stored("c7")).toMatchObject({
      status: "failed",
      rows: ["01/cancel/succeed", "01/confirm/prepared", "02/cancel/succeed", "02/confirm/prepared"],
    });
  });

  test("registration checks: branch id, URLs, the kind of the stored transaction, duplicates", async () => {
    await m.engine.prepare(begin("c8", "tcc"));
    const cases: Array<[() => Promise<void>, string]> = [
      [() => tccBranch("c8", ""), "branch_id: is required"],
      [() => tccBranch("c8", "01", { confirm: "ftp://x/y" }), 'confirm: "ftp://x/y" is not an http(s) URL'],
      [() => tccBranch("c8", "01", { cancel: "rm:1/a.B/C" }), 'cancel: "rm:1/a.B/C" is not an http(s) URL'],
      [() => xaBranch("c8", "01"), "trans_type: c8 is a tcc transaction, not xa"],
    ];
    for (const [p, message] of cases) {
      const err = await failureOf(p());
      expect([err.code, err.rawMessage]).toEqual([Code.InvalidArgument, message]);
    }
    await tccBranch("c8", "01");
    const dup = await failureOf(tccBranch("c8", "01"));
    expect([dup.code, dup.rawMessage]).toEqual([Code.AlreadyExists, "branch 01 of c8 is registered already"]);
    const none = await failureOf(tccBranch("c-none", "01"));
    expect([none.code, none.rawMessage]).toEqual([
      Code.Aborted,
      "no trans with gid: c-none status: prepared found",
    ]);
    expect((await stored("c8")).rows).toEqual(["01/cancel/prepared", "01/confirm/prepared"]);
  });

  test("a grpc transaction takes host:port/package.Service/Method URLs", async () => {
    await m.engine.prepare({ ...begin("c9", "tcc"), protocol: "grpc" });
    await tccBranch("c9", "01", { confirm: "rm:1/busi.Busi/Confirm", cancel: "rm:1/busi.Busi/Cancel" });
    await m.engine.submit({ ...begin("c9", "tcc", { waitResult: true }), protocol: "grpc" });
    expect(m.caller.calls.map((c) => [c.protocol, c.url, c.op])).toEqual([
      ["grpc", "rm:1/busi.Busi/Confirm", "confirm"],
    ]);
  });

  test("a duplicate submit of a submitted tcc confirms from the stored rows", async () => {
    await m.engine.prepare(begin("c10", "tcc"));
    await tccBranch("c10", "01");
    m.caller.script("Confirm01", "ONGOING");
    await m.engine.submit(begin("c10", "tcc", { waitResult: true }));
    expect((await stored("c10")).status).toBe("submitted");
    const { trans } = await m.engine.submit(begin("c10", "tcc", { waitResult: true }));
    expect(trans.status).toBe("succeed");
    expect(calls()).toEqual(["01/confirm", "01/confirm"]);
  });
});

describe("xa", () => {
  test("submit commits the first registered first, always POST, rows rollback+commit per branch", async () => {
    await m.engine.prepare(begin("x1", "xa"));
    await xaBranch("x1", "01");
    await xaBranch("x1", "02");
    const { trans } = await m.engine.submit(begin("x1", "xa", { waitResult: true }));
    expect(trans.status).toBe("succeed");
    expect(m.caller.calls.map((c) => [c.url, c.branchId, c.op, c.forcePost, c.payload.length])).toEqual([
      [rmUrl("Xa01"), "01", "commit", true, 0],
      [rmUrl("Xa02"), "02", "commit", true, 0],
    ]);
    expect((await stored("x1")).rows).toEqual([
      "01/rollback/prepared",
      "01/commit/succeed",
      "02/rollback/prepared",
      "02/commit/succeed",
    ]);
  });

  test("abort rolls back the first registered first; an error stops the pass until the next", async () => {
    await m.engine.prepare(begin("x2", "xa"));
    await xaBranch("x2", "01");
    await xaBranch("x2", "02");
    m.caller.script("Xa01", "ERROR");
    await m.engine.abort({ gid: "x2", transType: "xa", rollbackReason: "", waitResult: true });
    expect(await stored("x2")).toMatchObject({ status: "aborting" });
    await m.engine.recoverOnce(10, 3_600_000);
    expect(calls()).toEqual(["01/rollback", "01/rollback", "02/rollback"]);
    expect(await stored("x2")).toMatchObject({
      status: "failed",
      rows: ["01/rollback/succeed", "01/commit/prepared", "02/rollback/succeed", "02/commit/prepared"],
    });
  });

  test("a prepared xa without branches times out to failed; registration needs the phase-2 URL", async () => {
    await m.engine.prepare(begin("x3", "xa"));
    const noUrl = await failureOf(xaBranch("x3", "01", ""));
    expect([noUrl.code, noUrl.rawMessage]).toEqual([
      Code.InvalidArgument,
      "url: is required (the branch's phase-2 URL)",
    ]);
    m.clock.advance(35_000);
    await m.engine.recoverOnce(10);
    expect(await stored("x3")).toEqual({ status: "failed", reason: "Timeout after 35 seconds", rows: [] });
  });
});
