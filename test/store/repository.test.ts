/**
 * The repository methods the lifecycle verbs use, against both implementations of the port: the pg
 * one (PGlite, or Postgres with DTX_TEST_DATABASE_URL) and the in-memory one the core unit tests
 * rely on — so the two keep the same compare-and-set semantics.
 */
import type { NewBranch, TransRecord, TransStatus } from "../../src/core/model";
import type { TransRepository } from "../../src/core/repository";
import { MemoryRepository } from "../../src/store/memory-repository";
import { PgRepository } from "../../src/store/pg-repository";
import type { Store } from "../../src/store/store";
import { closeTestStore, openTestStore, T0, transRecord } from "../support/test-store";

let store: Store;
const at = (s: number): Date => new Date(T0.getTime() + s * 1000);

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => closeTestStore(store));

const implementations: Array<[string, () => TransRepository]> = [
  ["pg", () => new PgRepository(store, { maxInFlight: 1, maxBatch: 16 })],
  ["memory", () => new MemoryRepository()],
];

function trans(gid: string, status: TransStatus, owner = ""): TransRecord {
  return transRecord(gid, {
    transType: "tcc",
    status,
    settings: { kind: "tcc" },
    nextCronTime: at(35),
    owner,
  });
}

const row = (branchId: string, op: string): NewBranch => ({
  branchId,
  op,
  url: `http://x/${op}`,
  payload: Buffer.from(branchId),
});

describe.each(implementations)("%s repository", (name, open) => {
  let repo: TransRepository;
  const gid = (g: string): string => `${name}-${g}`;
  beforeAll(() => {
    repo = open();
  });

  test("changeStatus is a compare-and-set on the status that can take the lease", async () => {
    await repo.insert(trans(gid("c1"), "prepared", "recovery"), []);
    const base = { gid: gid("c1"), rollbackReason: "", now: at(1) };
    expect(await repo.changeStatus({ ...base, from: ["submitted"], to: "aborting" })).toBeNull();
    const moved = await repo.changeStatus({
      ...base,
      from: ["prepared"],
      to: "submitted",
      lease: { owner: "submitter", until: at(60) },
    });
    expect(moved).toMatchObject({
      status: "submitted",
      owner: "submitter",
      nextCronTime: at(60),
      updateTime: at(1),
    });
    // without a lease the holder and the next look stay
    const kept = await repo.changeStatus({
      ...base,
      from: ["submitted"],
      to: "aborting",
      rollbackReason: "why",
    });
    expect(kept).toMatchObject({
      status: "aborting",
      owner: "submitter",
      nextCronTime: at(60),
      rollbackReason: "why",
    });
    // a final status frees the lease and clears the next look, keeping the reason
    const failed = await repo.changeStatus({ ...base, from: ["aborting"], to: "failed", now: at(2) });
    expect(failed).toMatchObject({ status: "failed", owner: "", nextCronTime: null, rollbackTime: at(2) });
    expect((await repo.find(gid("c1")))!.rollbackReason).toBe("why");
  });

  test("addBranches inserts all rows while the status is the given one, or none", async () => {
    await repo.insert(trans(gid("b1"), "prepared"), []);
    expect(
      await repo.addBranches(gid("b1"), "prepared", [row("01", "cancel"), row("01", "confirm")], at(1)),
    ).toBe("added");
    // one row of the two is taken: neither is written
    expect(
      await repo.addBranches(gid("b1"), "prepared", [row("02", "cancel"), row("01", "confirm")], at(2)),
    ).toBe("duplicate");
    expect(await repo.addBranches(gid("b1"), "submitted", [row("03", "cancel")], at(3))).toBe("wrong-status");
    expect(await repo.addBranches(gid("none"), "prepared", [row("01", "cancel")], at(3))).toBe(
      "wrong-status",
    );
    const rows = await repo.findBranches([gid("b1")]);
    expect(rows.map((b) => [b.branchId, b.op, b.status, b.payload.toString(), b.createTime])).toEqual([
      ["01", "cancel", "prepared", "01", at(1)],
      ["01", "confirm", "prepared", "01", at(1)],
    ]);
  });

  test("the same registration racing itself: one adds the rows, the other finds them taken", async () => {
    await repo.insert(trans(gid("b3"), "prepared"), []);
    const rows = [row("01", "cancel"), row("01", "confirm")];
    const results = await Promise.all(
      [1, 2, 3].map(() => repo.addBranches(gid("b3"), "prepared", rows, at(1))),
    );
    expect(results.sort()).toEqual(["added", "duplicate", "duplicate"]);
    expect(await repo.findBranches([gid("b3")])).toHaveLength(2);
  });

  test("registered rows may carry their status (workflow progress)", async () => {
    await repo.insert(trans(gid("b2"), "prepared"), []);
    expect(
      await repo.addBranches(gid("b2"), "prepared", [{ ...row("01", "action"), status: "succeed" }], at(1)),
    ).toBe("added");
    expect((await repo.findBranches([gid("b2")])).map((b) => b.status)).toEqual(["succeed"]);
  });

  test("69: claim semantics: due within the look-ahead, not after a touch beyond it, never once final", async () => {
    // a day before every other row of this file, so that only this one is due in these claims
    const base = T0.getTime() - 86_400_000;
    const t = (s: number): Date => new Date(base + s * 1000);
    const claim = (lookAhead: number, owner: string) =>
      repo.claimDue({ owner, now: t(0), dueBefore: t(lookAhead), leaseUntil: t(lookAhead), limit: 10 });
    await repo.insert({ ...trans(gid("l1"), "submitted"), nextCronTime: t(10) }, []);
    expect((await claim(20, "o1")).map((x) => x.trans.gid)).toEqual([gid("l1")]);
    expect(await repo.setLease(gid("l1"), "o1", t(30))).toBe(true);
    expect(await claim(20, "o2")).toEqual([]);
    expect(await repo.setLease(gid("l1"), "o1", t(10))).toBe(true);
    expect((await claim(20, "o3")).map((x) => x.trans.gid)).toEqual([gid("l1")]);
    const final = { gid: gid("l1"), owner: "o3", ownerAfter: "", fromStatus: "submitted" as const };
    expect(
      await repo.savePass({
        ...final,
        toStatus: "succeed",
        rollbackReason: "",
        now: t(1),
        nextCronTime: null,
        nextCronIntervalMs: 0,
        branches: [],
      }),
    ).toBe(true);
    expect(await claim(86_000, "o4")).toEqual([]);
  });

  test("makeDue and makeDelayedDue touch unfinished transactions only", async () => {
    await repo.insert({ ...trans(gid("d1"), "submitted"), nextCronTime: at(5000) }, []);
    await repo.insert({ ...trans(gid("d2"), "aborting"), nextCronTime: at(6000) }, []);
    await repo.insert({ ...trans(gid("d3"), "succeed"), nextCronTime: null }, []);
    expect((await repo.makeDue(gid("d1"), at(2)))?.nextCronTime).toEqual(at(2));
    expect(await repo.makeDue(gid("d3"), at(2))).toBeNull();
    expect(await repo.makeDue(gid("none"), at(2))).toBeNull();
    // d2 is the only one beyond 5000 s (d1 was just made due)
    expect(await repo.makeDelayedDue(at(4000), at(3), 10)).toEqual({ count: 1, hasRemaining: false });
    expect((await repo.find(gid("d2")))?.nextCronTime).toEqual(at(3));
    expect((await repo.find(gid("d3")))?.nextCronTime).toBeNull();
  });
});
