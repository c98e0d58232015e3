/**
 * A database at migration 6 with transactions in it, upgraded by `migrate` (7: dtx_claim_due, 8:
 * dtx_make_delayed_due): the claim then answers the rows written before the upgrade exactly as they are
 * stored (ids, payload bytes of every length, answers), and a second migrate applies nothing. PGlite
 * (default) or a fresh schema on DTX_TEST_DATABASE_URL (so the functions' search_path is that schema).
 */
import { defaultOptions, type NewBranch } from "../../src/core/model";
import { findBranches } from "../../src/store/branch-statements";
import { claimDue } from "../../src/store/claim-statements";
import { migrate } from "../../src/store/migrate";
import { migrations } from "../../src/store/migrations";
import type { Queryable } from "../../src/store/queryable";
import * as sql from "../../src/store/trans-statements";
import { openTestDb, type TestDb } from "../support/test-db";
import { T0, transRecord } from "../support/test-store";

let db: TestDb;
let q: Queryable;

beforeAll(async () => {
  db = await openTestDb(2);
  q = { query: (_name, text, values) => db.pool.query(text, values) };
});
afterAll(() => db.close());

const at = (s: number): Date => new Date(T0.getTime() + s * 1000);

/** Every byte value, and lengths around base64's 57-byte lines (Postgres wraps encode() at 76 characters). */
const payloads = [
  Buffer.alloc(0),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.alloc(57, 0xfe),
  Buffer.alloc(58, 0x01),
  Buffer.from('{"amount":30}'),
];

test("a database at migration 6 with rows: migrate applies 7 and 8, the claim decodes the old rows exactly", async () => {
  await db.pool.query(
    "create table dtx_migrations (version int primary key, name text not null, applied_at timestamptz not null default now())",
  );
  for (const m of migrations.filter((x) => x.version <= 6)) {
    await db.pool.query(m.sql);
    await db.pool.query("insert into dtx_migrations (version, name) values ($1, $2)", [m.version, m.name]);
  }
  const branches: NewBranch[] = payloads.map((payload, i) => ({
    branchId: String(i + 1).padStart(2, "0"),
    op: "action",
    url: `http://x/a${i}`,
    payload,
  }));
  const trans = (gid: string, due: Date) =>
    transRecord(gid, {
      options: { ...defaultOptions(), branchHeaders: { "x-tenant": "t1" } },
      nextCronTime: due,
      nextCronIntervalMs: 5000,
    });
  const inserted = await sql.insertTrans(q, [
    { trans: trans("up-1", at(-30)), branches },
    { trans: trans("up-2", at(-20)), branches: [] },
    { trans: trans("up-later", at(3600)), branches: branches.slice(0, 1) },
  ]);
  expect(inserted.every((x) => x !== null)).toBe(true);
  // one branch with an answer stored, as a pass writes it
  const write = {
    gid: "up-1",
    owner: "",
    ownerAfter: "",
    fromStatus: "submitted" as const,
    toStatus: "submitted" as const,
    rollbackReason: "",
    now: at(-25),
    nextCronTime: at(-10),
    nextCronIntervalMs: 5000,
    branches: [
      {
        id: inserted[0]!.branchIds[1]!,
        status: "failed" as const,
        calls: 3,
        lastAnswer: { outcome: "FAILURE" as const, code: "409", text: "FAILURE: no funds", at: at(-25) },
      },
    ],
  };
  expect(await sql.savePass(q, [write])).toEqual([true]);

  expect(await migrate(db.pool)).toBe(2);
  const claimed = await claimDue(q, "w-up", T0, T0, at(60), 10);
  // the claim's rows come in no particular order
  expect(claimed.map((c) => c.trans.gid).sort()).toEqual(["up-1", "up-2"]);
  const [one, two] = ["up-1", "up-2"].map((gid) => claimed.find((c) => c.trans.gid === gid)!);
  const stored = await findBranches(q, ["up-1"]);
  expect(stored.map((b) => b.payload)).toEqual(payloads);
  expect(one!.branches).toEqual(stored);
  expect(one!.branches.map((b) => b.id)).toEqual(inserted[0]!.branchIds);
  expect(one!.trans).toMatchObject({ gid: "up-1", owner: "w-up", nextCronTime: at(60) });
  expect(two!.branches).toEqual([]);

  // resetCronTime's function on the upgraded database: the later one made due now
  expect(await sql.makeDelayedDue(q, at(60), T0, 10)).toEqual({ count: 1, hasRemaining: false });
  expect((await claimDue(q, "w-up2", T0, T0, at(60), 10)).map((c) => c.trans.gid)).toEqual(["up-later"]);

  expect(await migrate(db.pool)).toBe(0);
});
