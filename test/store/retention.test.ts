import type { NewBranch, TransStatus } from "../../src/core/model";
import { findBranches } from "../../src/store/branch-statements";
import { deleteFinished } from "../../src/store/retention-statements";
import type { Store } from "../../src/store/store";
import { findTrans, insertTrans } from "../../src/store/trans-statements";
import { closeTestStore, openTestStore, T0, transRecord } from "../support/test-store";

// Retention of finished transactions against PGlite (default) or Postgres (DTX_TEST_DATABASE_URL).
let store: Store;
const daysBefore = (d: number): Date => new Date(T0.getTime() - d * 86_400_000);

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => closeTestStore(store));

const steps: NewBranch[] = [
  { branchId: "01", op: "compensate", url: "http://x/c1", payload: Buffer.from("p") },
  { branchId: "01", op: "action", url: "http://x/a1", payload: Buffer.from("p") },
];

/** A transaction in `status`, last written `age` days before T0. */
async function stored(gid: string, status: TransStatus, age: number): Promise<void> {
  await insertTrans(store.sql, [{ trans: transRecord(gid, { status }), branches: steps }]);
  await store.db.query("update trans_global set update_time = $2, create_time = $2 where gid = $1", [
    gid,
    daysBefore(age),
  ]);
}

async function exists(gid: string): Promise<boolean> {
  return (await findTrans(store.sql, gid)) !== null;
}

test("finished transactions older than the cutoff go with their branches, in bounded batches; unfinished and recent ones stay", async () => {
  await stored("ret-old-ok-1", "succeed", 40);
  await stored("ret-old-ok-2", "succeed", 39);
  await stored("ret-old-failed", "failed", 35);
  await stored("ret-recent-ok", "succeed", 10);
  await stored("ret-old-submitted", "submitted", 90);
  await stored("ret-old-aborting", "aborting", 90);
  await stored("ret-old-prepared", "prepared", 90);
  const cutoff = daysBefore(30);

  // the oldest first, two at a time
  expect(await deleteFinished(store.sql, cutoff, 2)).toEqual({ locked: true, transactions: 2, branches: 4 });
  expect(await exists("ret-old-ok-1")).toBe(false);
  expect(await exists("ret-old-ok-2")).toBe(false);
  expect(await exists("ret-old-failed")).toBe(true);
  expect(await deleteFinished(store.sql, cutoff, 2)).toEqual({ locked: true, transactions: 1, branches: 2 });
  expect(await deleteFinished(store.sql, cutoff, 2)).toEqual({ locked: true, transactions: 0, branches: 0 });

  for (const gid of ["ret-old-ok-1", "ret-old-ok-2", "ret-old-failed"]) {
    expect(await exists(gid)).toBe(false);
  }
  expect(await findBranches(store.sql, ["ret-old-ok-1", "ret-old-ok-2", "ret-old-failed"])).toEqual([]);
  for (const gid of ["ret-recent-ok", "ret-old-submitted", "ret-old-aborting", "ret-old-prepared"]) {
    expect(await exists(gid)).toBe(true);
    expect(await findBranches(store.sql, [gid])).toHaveLength(2);
  }
});

(process.env.DTX_TEST_DATABASE_URL ? test : test.skip)(
  "while another coordinator holds the retention lock, a batch removes nothing (Postgres: several connections)",
  async () => {
    await stored("ret-locked", "succeed", 60);
    const other = await store.db.connect();
    try {
      await other.query("begin");
      // the same lock a deleting coordinator's statement holds while it runs
      await other.query("select pg_advisory_xact_lock(28548152316769652)");
      expect(await deleteFinished(store.sql, daysBefore(30), 10)).toEqual({
        locked: false,
        transactions: 0,
        branches: 0,
      });
      await other.query("commit");
    } finally {
      other.release();
    }
    expect(await deleteFinished(store.sql, daysBefore(30), 10)).toMatchObject({
      locked: true,
      transactions: 1,
    });
  },
);
