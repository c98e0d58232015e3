import { defaultOptions, type BranchAnswer, type NewBranch, type TransRecord } from "../../src/core/model";
import type { ClaimedTrans, PassWrite } from "../../src/core/repository";
import { findBranches } from "../../src/store/branch-statements";
import { claimDue } from "../../src/store/claim-statements";
import { listTrans } from "../../src/store/list-statements";
import { migrate } from "../../src/store/migrate";
import type { Store } from "../../src/store/store";
import * as sql from "../../src/store/trans-statements";
import { closeTestStore, openTestStore, T0, transRecord } from "../support/test-store";

// The store's statements against PGlite (default) or Postgres (DTX_TEST_DATABASE_URL).
let store: Store;
const at = (s: number): Date => new Date(T0.getTime() + s * 1000);

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => closeTestStore(store));

const twoSteps: NewBranch[] = [
  { branchId: "01", op: "compensate", url: "http://x/c1", payload: Buffer.from("p1") },
  { branchId: "01", op: "action", url: "http://x/a1", payload: Buffer.from("p1") },
  { branchId: "02", op: "compensate", url: "http://x/c2", payload: Buffer.from([0, 255]) },
  { branchId: "02", op: "action", url: "http://x/a2", payload: Buffer.from([0, 255]) },
];

/** One transaction through the batch statement. */
async function insert(
  gid: string,
  opts: { status?: "submitted" | "prepared"; due?: Date; owner?: string } = {},
) {
  const [one] = await sql.insertTrans(store.sql, [{ trans: newTrans(gid, opts), branches: twoSteps }]);
  return one!;
}

async function save(write: PassWrite): Promise<boolean> {
  const [won] = await sql.savePass(store.sql, [write]);
  return won!;
}

function newTrans(
  gid: string,
  opts: { status?: "submitted" | "prepared"; due?: Date; owner?: string },
): TransRecord {
  return transRecord(gid, {
    status: opts.status ?? "submitted",
    options: { ...defaultOptions(), retryIntervalMs: 5000, branchHeaders: { a: "b" } },
    nextCronTime: opts.due ?? at(10),
    nextCronIntervalMs: 5000,
    owner: opts.owner ?? "o1",
  });
}

test("migrations are applied once", async () => {
  expect(await migrate(store.db)).toBe(0);
});

test("insert stores the transaction and its branches in order, once per gid", async () => {
  const ins = await insert("s-insert");
  expect(ins?.branchIds).toHaveLength(4);
  expect(await insert("s-insert")).toBeNull();
  const t = await sql.findTrans(store.sql, "s-insert");
  expect(t).toMatchObject({ gid: "s-insert", status: "submitted", owner: "o1", nextCronIntervalMs: 5000 });
  expect(t!.options.branchHeaders).toEqual({ a: "b" });
  const b = await findBranches(store.sql, ["s-insert"]);
  expect(b.map((x) => [x.id, x.branchId, x.op, x.url, x.status])).toEqual(
    twoSteps.map((s, i) => [ins!.branchIds[i], s.branchId, s.op, s.url, "prepared"]),
  );
  expect(b[3]!.payload).toEqual(Buffer.from([0, 255]));
});

test("a claim takes due unfinished transactions only, and extends their lease", async () => {
  await insert("s-claim", { due: at(10) });
  // not due within 5 s of T0
  expect(gidsOf(await claimDue(store.sql, "w1", T0, at(5), at(60), 100))).not.toContain("s-claim");
  const claimed = await claimDue(store.sql, "w1", T0, at(20), at(60), 100);
  expect(gidsOf(claimed)).toContain("s-claim");
  const t = claimed.find((x) => x.trans.gid === "s-claim")!.trans;
  expect(t.owner).toBe("w1");
  expect(t.nextCronTime).toEqual(at(60));
  // leased until T0+60: a second look at T0+20 finds nothing
  expect(gidsOf(await claimDue(store.sql, "w2", T0, at(20), at(90), 100))).not.toContain("s-claim");
});

test("a claim answers each transaction with its branch rows as they are stored", async () => {
  const ins = await insert("s-claim-rows", { due: at(-30), owner: "" });
  await sql.insertTrans(store.sql, [{ trans: newTrans("s-claim-none", { due: at(-30) }), branches: [] }]);
  const write = {
    gid: "s-claim-rows",
    owner: "",
    ownerAfter: "",
    fromStatus: "submitted" as const,
    toStatus: "submitted" as const,
    rollbackReason: "",
    now: at(-20),
    nextCronTime: at(-10),
    nextCronIntervalMs: 5000,
    branches: [
      { id: ins!.branchIds[1]!, status: "succeed", calls: 2, lastAnswer: answer("SUCCESS", "200", at(-21)) },
    ],
  };
  expect(await save(write)).toBe(true);
  const claimed = await claimDue(store.sql, "w3", T0, T0, at(60), 100);
  const stored = await findBranches(store.sql, ["s-claim-rows"]);
  expect(stored.map((b) => b.payload)).toEqual(twoSteps.map((s) => s.payload));
  expect(claimed.find((c) => c.trans.gid === "s-claim-rows")!.branches).toEqual(stored);
  expect(claimed.find((c) => c.trans.gid === "s-claim-none")!.branches).toEqual([]);
});

test("the final write is a compare-and-set on status and owner, with every branch it changed or called", async () => {
  const ins = await insert("s-cas", { owner: "mine" });
  const write = {
    gid: "s-cas",
    owner: "mine",
    ownerAfter: "",
    fromStatus: "submitted" as const,
    toStatus: "succeed" as const,
    rollbackReason: "",
    now: at(1),
    nextCronTime: null,
    nextCronIntervalMs: 5000,
    branches: [
      { id: ins!.branchIds[1]!, status: "succeed", calls: 1, lastAnswer: answer("SUCCESS", "200", at(0)) },
      // called three times without a change of status: its attempts and last answer are written
      { id: ins!.branchIds[2]!, status: "prepared", calls: 3, lastAnswer: answer("ERROR", "500", at(0.5)) },
      { id: ins!.branchIds[3]!, status: "succeed", calls: 0, lastAnswer: null },
    ],
  };
  expect(await save({ ...write, owner: "someone else" })).toBe(false);
  expect(await save({ ...write, fromStatus: "aborting" })).toBe(false);
  expect((await findBranches(store.sql, ["s-cas"])).map((b) => b.status)).toEqual(Array(4).fill("prepared"));
  expect(await save(write)).toBe(true);
  const t = await sql.findTrans(store.sql, "s-cas");
  expect(t).toMatchObject({ status: "succeed", finishTime: at(1), nextCronTime: null });
  expect(
    (await findBranches(store.sql, ["s-cas"])).map((b) => [b.status, b.finishTime, b.attempts, b.lastAnswer]),
  ).toEqual([
    ["prepared", null, 0, null],
    ["succeed", at(1), 1, answer("SUCCESS", "200", at(0))],
    ["prepared", null, 3, answer("ERROR", "500", at(0.5))],
    ["succeed", at(1), 0, null],
  ]);
  // finished: never claimed again
  expect(gidsOf(await claimDue(store.sql, "w", at(1000), at(10_000), at(20_000), 100))).not.toContain(
    "s-cas",
  );
  // and a late pass of the old owner cannot move it back
  expect(await save(write)).toBe(false);
});

function gidsOf(claimed: ClaimedTrans[]): string[] {
  return claimed.map((c) => c.trans.gid);
}

function answer(outcome: BranchAnswer["outcome"], code: string, when: Date): BranchAnswer {
  return { outcome, code, text: `answer ${code}`, at: when };
}

test("concurrent claims never hand the same transaction to two owners", async () => {
  const gids = Array.from({ length: 40 }, (_, i) => `s-race-${i}`);
  for (const g of gids) await insert(g, { due: at(-1) });
  const [a, b, c] = await Promise.all(
    ["A", "B", "C"].map((owner) => claimDue(store.sql, owner, T0, T0, at(60), 15)),
  );
  const got = gidsOf([...a!, ...b!, ...c!]).filter((g) => g.startsWith("s-race-"));
  expect(new Set(got).size).toBe(got.length);
  const rest = await claimDue(store.sql, "D", T0, T0, at(60), 100);
  expect(new Set([...got, ...gidsOf(rest)])).toEqual(new Set(gids));
});

test("claim by gid takes a transaction in one of the given statuses unless a live lease holds it", async () => {
  await insert("s-bygid", { owner: "old", due: at(10) });
  expect(await sql.claimByGid(store.sql, "s-bygid", ["submitted"], "new", T0, at(30))).toBeNull(); // leased
  expect(await sql.claimByGid(store.sql, "s-bygid", ["prepared"], "new", at(11), at(30))).toBeNull();
  const t = await sql.claimByGid(store.sql, "s-bygid", ["submitted"], "new", at(11), at(30));
  expect(t).toMatchObject({ owner: "new", nextCronTime: at(30) });
});

test("only the holder moves a lease: forward to cover a long pass, or back to now", async () => {
  await insert("s-release", { owner: "holder", due: at(600) });
  expect(await sql.setLease(store.sql, "s-release", "other", T0)).toBe(false);
  expect((await sql.findTrans(store.sql, "s-release"))!.nextCronTime).toEqual(at(600));
  expect(await sql.setLease(store.sql, "s-release", "holder", at(900))).toBe(true);
  expect((await sql.findTrans(store.sql, "s-release"))!.nextCronTime).toEqual(at(900));
  expect(await sql.setLease(store.sql, "s-release", "holder", T0)).toBe(true);
  expect((await sql.findTrans(store.sql, "s-release"))!.nextCronTime).toEqual(T0);
});

test("listing pages newest first with filters, with a cursor only when more rows follow", async () => {
  const page1 = (await listTrans(store.sql, { limit: 2 })).transactions;
  expect(page1).toHaveLength(2);
  expect(Number(page1[0]!.id)).toBeGreaterThan(Number(page1[1]!.id));
  const page2 = (await listTrans(store.sql, { limit: 2, beforeId: page1[1]!.id })).transactions;
  expect(Number(page2[0]!.id)).toBeLessThan(Number(page1[1]!.id));
  const succeeded = await listTrans(store.sql, { limit: 100, statuses: ["succeed"] });
  expect(succeeded.transactions.map((t) => t.gid)).toEqual(["s-cas"]);
  expect(succeeded.next).toBe("");
  // a page that is exactly full but last has no cursor either
  expect((await listTrans(store.sql, { limit: 1, statuses: ["succeed"] })).next).toBe("");
  const first = await listTrans(store.sql, { limit: 1 });
  expect(first.next).toBe(first.transactions[0]!.id);
  expect(await listTrans(store.sql, { limit: 100, transType: "msg" })).toEqual({
    transactions: [],
    next: "",
  });
  expect(await listTrans(store.sql, { limit: 100, createdTo: at(-1) })).toEqual({
    transactions: [],
    next: "",
  });
});

test("one insert statement creates several transactions, skipping a gid that exists", async () => {
  await insert("s-batch-taken");
  const out = await sql.insertTrans(store.sql, [
    { trans: newTrans("s-batch-1", {}), branches: twoSteps },
    { trans: newTrans("s-batch-taken", {}), branches: twoSteps },
    { trans: newTrans("s-batch-2", {}), branches: twoSteps.slice(0, 2) },
  ]);
  expect(out[1]).toBeNull();
  expect(out[0]!.branchIds).toHaveLength(4);
  expect(out[2]!.branchIds).toHaveLength(2);
  const b1 = await findBranches(store.sql, ["s-batch-1"]);
  expect(b1.map((b) => [b.id, b.op, b.url])).toEqual(
    twoSteps.map((s, i) => [out[0]!.branchIds[i], s.op, s.url]),
  );
  // the existing transaction kept its own rows only
  expect(await findBranches(store.sql, ["s-batch-taken"])).toHaveLength(4);
});

test("one write statement settles several passes, each by its own compare-and-set", async () => {
  const x = await insert("s-bw-x", { owner: "ox" });
  const y = await insert("s-bw-y", { owner: "oy" });
  const base = {
    ownerAfter: "",
    fromStatus: "submitted" as const,
    rollbackReason: "",
    now: at(2),
    nextCronIntervalMs: 5000,
  };
  const won = await sql.savePass(store.sql, [
    {
      ...base,
      gid: "s-bw-x",
      owner: "ox",
      toStatus: "succeed",
      nextCronTime: null,
      branches: [{ id: x!.branchIds[1]!, status: "succeed", calls: 0, lastAnswer: null }],
    },
    {
      ...base,
      gid: "s-bw-y",
      owner: "stale",
      toStatus: "failed",
      nextCronTime: null,
      branches: [{ id: y!.branchIds[1]!, status: "failed", calls: 0, lastAnswer: null }],
    },
  ]);
  expect(won).toEqual([true, false]);
  expect((await sql.findTrans(store.sql, "s-bw-x"))!.status).toBe("succeed");
  expect((await findBranches(store.sql, ["s-bw-x"]))[1]!.status).toBe("succeed");
  expect((await sql.findTrans(store.sql, "s-bw-y"))!.status).toBe("submitted");
  expect((await findBranches(store.sql, ["s-bw-y"]))[1]!.status).toBe("prepared");
});
