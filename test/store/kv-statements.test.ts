/**
 * The key-value statements (topics' rows) against PGlite (default) or Postgres (DTX_TEST_DATABASE_URL),
 * and the msg settings column: create-unless-exists, the version compare-and-set, pages, delete; a
 * prepared message's settings replaced by the move to `submitted`.
 */
import { createKv, deleteKv, findKv, scanKv, updateKv } from "../../src/store/kv-statements";
import * as sql from "../../src/store/trans-statements";
import type { Store } from "../../src/store/store";
import { closeTestStore, openTestStore, T0, transRecord } from "../support/test-store";

let store: Store;
const at = (s: number): Date => new Date(T0.getTime() + s * 1000);

beforeAll(async () => {
  store = await openTestStore();
});
afterAll(() => closeTestStore(store));

test("create is insert-unless-exists: version 1; the same (cat, key) again → null, nothing changed", async () => {
  const row = await createKv(store.sql, "topics", "t1", '[{"url":"http://a","remark":""}]', T0);
  expect(row).toEqual({
    id: expect.any(String),
    cat: "topics",
    key: "t1",
    value: '[{"url":"http://a","remark":""}]',
    version: 1,
    createTime: T0,
    updateTime: T0,
  });
  expect(await createKv(store.sql, "topics", "t1", "[]", at(1))).toBeNull();
  expect(await createKv(store.sql, "other", "t1", "x", T0)).not.toBeNull(); // keys are per category
  expect((await findKv(store.sql, "topics", "t1")).map((r) => [r.value, r.version])).toEqual([
    ['[{"url":"http://a","remark":""}]', 1],
  ]);
});

test("update is a compare-and-set on the version: the stale writer loses, each win adds exactly 1", async () => {
  const row = (await createKv(store.sql, "topics", "t2", "[]", T0))!;
  expect(await updateKv(store.sql, row.id, '["a"]', 1, at(1))).toBe(true);
  expect(await updateKv(store.sql, row.id, '["b"]', 1, at(2))).toBe(false); // read version 1 before the first write
  expect(await updateKv(store.sql, row.id, '["a","c"]', 2, at(3))).toBe(true);
  const [now] = await findKv(store.sql, "topics", "t2");
  expect([now!.value, now!.version, now!.updateTime, now!.createTime]).toEqual(['["a","c"]', 3, at(3), T0]);
});

test("scan pages newest first within a category (every category for ''); find without a key lists it", async () => {
  for (const k of ["s1", "s2", "s3"]) await createKv(store.sql, "scan", k, k, T0);
  const first = await scanKv(store.sql, "scan", undefined, 2);
  expect(first.rows.map((r) => r.key)).toEqual(["s3", "s2"]);
  expect(first.next).toBe(first.rows[1]!.id);
  const second = await scanKv(store.sql, "scan", first.next, 2);
  expect([second.rows.map((r) => r.key), second.next]).toEqual([["s1"], ""]);
  expect((await findKv(store.sql, "scan", null)).map((r) => r.key)).toEqual(["s1", "s2", "s3"]);
  const all = await scanKv(store.sql, "", undefined, 100);
  expect(new Set(all.rows.map((r) => r.cat))).toEqual(new Set(["topics", "other", "scan"]));
});

test("delete removes the row; a second delete finds none; an update of a deleted row loses", async () => {
  const row = (await createKv(store.sql, "topics", "gone", "[]", T0))!;
  expect(await deleteKv(store.sql, "topics", "gone")).toBe(true);
  expect(await deleteKv(store.sql, "topics", "gone")).toBe(false);
  expect(await updateKv(store.sql, row.id, "[]", 1, at(1))).toBe(false);
  expect(await findKv(store.sql, "topics", "gone")).toEqual([]);
});

test("a status change can replace a message's settings (the submit's delay), kept otherwise", async () => {
  const trans = transRecord("msg-1", {
    transType: "msg",
    status: "prepared",
    settings: { kind: "msg", delayMs: 0 },
  });
  await sql.insertTrans(store.sql, [{ trans, branches: [] }]);
  const moved = await sql.changeStatus(store.sql, {
    gid: "msg-1",
    from: ["prepared"],
    to: "submitted",
    rollbackReason: "",
    settings: { kind: "msg", delayMs: 10_000, concurrent: true },
    now: at(1),
  });
  expect(moved?.settings).toEqual({ kind: "msg", delayMs: 10_000, concurrent: true });
  const kept = await sql.changeStatus(store.sql, {
    gid: "msg-1",
    from: ["submitted"],
    to: "succeed",
    rollbackReason: "",
    now: at(2),
  });
  expect(kept?.settings).toEqual({ kind: "msg", delayMs: 10_000, concurrent: true });
});
