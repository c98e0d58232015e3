import type { NewBranch, TransRecord } from "../../src/core/model";
import { findBranches } from "../../src/store/branch-statements";
import type { Store } from "../../src/store/store";
import { findTrans } from "../../src/store/trans-statements";
import { TransWriter } from "../../src/store/trans-writer";
import { closeTestStore, openTestStore, T0, transRecord } from "../support/test-store";

// Group commit on the real database: writes that arrive while one runs share the next statement.
let store: Store;
const statements: string[] = [];

beforeAll(async () => {
  store = await openTestStore();
  store.onStatement((s) => statements.push(s.text.trim().slice(0, 10)));
});
afterAll(() => closeTestStore(store));

const steps: NewBranch[] = [
  { branchId: "01", op: "compensate", url: "http://x/c", payload: Buffer.from("p") },
  { branchId: "01", op: "action", url: "http://x/a", payload: Buffer.from("p") },
];

function trans(gid: string): TransRecord {
  return transRecord(gid, { owner: `owner-${gid}` });
}

test("20 sagas written together cost 2 inserts and 2 final writes", async () => {
  const writer = new TransWriter(store.sql, { maxInFlight: 1, maxBatch: 128 });
  const gids = Array.from({ length: 20 }, (_, i) => `gc-${i}`);
  statements.length = 0;
  const inserted = await Promise.all(gids.map((g) => writer.insert(trans(g), steps)));
  expect(statements).toHaveLength(2); // the first alone, the other 19 together
  expect(inserted.every((r) => r?.branchIds.length === 2)).toBe(true);

  statements.length = 0;
  const won = await Promise.all(
    gids.map((g, i) =>
      writer.savePass({
        gid: g,
        owner: i === 7 ? "not the owner" : `owner-${g}`,
        ownerAfter: "",
        fromStatus: "submitted",
        toStatus: "succeed",
        rollbackReason: "",
        now: T0,
        nextCronTime: null,
        nextCronIntervalMs: 10_000,
        branches: [{ id: inserted[i]!.branchIds[1]!, status: "succeed", calls: 1, lastAnswer: null }],
      }),
    ),
  );
  expect(statements).toHaveLength(2);
  expect(won).toEqual(gids.map((_, i) => i !== 7)); // each write keeps its own compare-and-set
  expect((await findTrans(store.sql, "gc-3"))!.status).toBe("succeed");
  expect((await findBranches(store.sql, ["gc-3"]))[1]!.status).toBe("succeed");
  expect((await findTrans(store.sql, "gc-7"))!.status).toBe("submitted");
  expect((await findBranches(store.sql, ["gc-7"]))[1]!.status).toBe("prepared");
});
