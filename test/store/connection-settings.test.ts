/**
 * What every connection of a store runs with: the configured schema (store.schema) and
 * `plan_cache_mode = force_custom_plan` for the named prepared statements — on each of several
 * connections in use at once (Postgres), or on PGlite's one; and the named statements, run on those
 * connections at once, write into the store's schema.
 */
import type { Store } from "../../src/store/store";
import * as sql from "../../src/store/trans-statements";
import { closeTestStore, openTestStore, transRecord } from "../support/test-store";

let store: Store;
/** A fresh schema on Postgres; `public` on PGlite (test-store.ts). */
let schema: string;

beforeAll(async () => {
  const fresh = `conn_settings_${process.pid}_${Date.now()}`;
  store = await openTestStore(fresh);
  schema = store.kind === "postgres" ? fresh : "public";
});
afterAll(() => closeTestStore(store));

test("each connection is in the store's schema with plan_cache_mode force_custom_plan", async () => {
  const width = store.kind === "postgres" ? 3 : 1;
  // pg_sleep holds each connection while the others are taken, so the pool opens `width` of them
  const rows = await Promise.all(
    Array.from({ length: width }, async () => {
      const { rows } = await store.db.query<{ pid: number; schema: string; mode: string }>(
        "select pg_backend_pid() as pid, current_schema() as schema, current_setting('plan_cache_mode') as mode, pg_sleep(0.2)",
      );
      return rows[0]!;
    }),
  );
  expect(new Set(rows.map((r) => r.pid)).size).toBe(width);
  expect(rows.map((r) => [r.schema, r.mode])).toEqual(Array(width).fill([schema, "force_custom_plan"]));
});

test("insertTrans, a named statement, on several connections at once writes into the store's schema", async () => {
  const gids = Array.from({ length: 12 }, (_, i) => `conn-${i}`);
  const inserted = await Promise.all(
    gids.map((gid) => sql.insertTrans(store.sql, [{ trans: transRecord(gid), branches: [] }])),
  );
  expect(inserted.every(([one]) => one !== null)).toBe(true);
  const { rows } = await store.db.query<{ n: string }>(
    `select count(*) as n from "${schema}".trans_global where gid like 'conn-%'`,
  );
  expect(Number(rows[0]!.n)).toBe(12);
});
