/**
 * A branch whose row is locked by a prepared XA branch (which holds its locks until the coordinator's
 * phase 2) waits a bounded time, answers ONGOING and gives its connection back: otherwise branches
 * waiting behind the prepared one take every connection of the pool, and the XA transaction's next
 * branch and its phase 2, which need one, never come — the service stalls for good (found by
 * test/property/conservation.test.ts on Postgres). Postgres only: PGlite has no prepared transactions.
 */
import pg from "pg";
import {
  Barrier,
  createBarrierTables,
  isBranchOngoing,
  XaResource,
  type BranchContext,
} from "../../src/client";
import { openTestDb, type TestDb } from "../support/test-db";
import { SKIP, lockRowInPreparedTransaction, pgTest } from "../support/prepared-transactions";

let db: TestDb;
let table: string;
/** A pool of one connection, the smallest a stall can take. */
let one: pg.Pool;
let seq = 0;

beforeAll(async () => {
  db = await openTestDb();
  table = `${db.schema}.barrier`;
  await createBarrierTables(db.pool, table);
  await db.pool.query("create table account (name text primary key, balance int not null)");
  if (db.kind === "postgres") {
    one = new pg.Pool({
      connectionString: process.env.DTX_TEST_DATABASE_URL,
      max: 1,
      options: `-c search_path=${db.schema}`,
    });
  }
});
afterAll(async () => {
  await one?.end();
  await db?.close();
});

/** A fresh account with 100 whose row a prepared transaction holds locked; `release` rolls it back. */
async function lockedByPreparedBranch(): Promise<{ account: string; release(): Promise<void> }> {
  const account = `acct${++seq}`;
  const id = `lock-wait-${db.schema}-${seq}`;
  await db.pool.query("insert into account values ($1, 100)", [account]);
  return { account, release: await lockRowInPreparedTransaction(db.pool, account, id) };
}

function ctx(op: string, transType = "saga"): BranchContext {
  return { gid: `lock-wait-gid-${seq}`, transType, branchId: "01", op, dtm: "", phase2Url: "" };
}

async function balance(account: string): Promise<number> {
  const { rows } = await db.pool.query<{ balance: number }>("select balance from account where name = $1", [
    account,
  ]);
  return rows[0]!.balance;
}

pgTest(
  `a barrier call blocked by a prepared branch answers ONGOING and frees its connection; the retry runs ${SKIP}`,
  async () => {
    const { account, release } = await lockedByPreparedBranch();
    const credit = (tx: pg.ClientBase) =>
      tx.query("update account set balance = balance + 5 where name = $1", [account]);
    const err = await new Barrier(ctx("action"), { table, lockWaitMs: 200 })
      .call(one, credit)
      .catch((e: unknown) => e);
    expect(isBranchOngoing(err)).toBe(true);
    expect((err as Error).message).toContain("locked");
    // the only connection is back in the pool, and the barrier row went with the rollback
    expect(
      (await one.query("select count(*)::int as n from " + table + " where gid = $1", [ctx("action").gid]))
        .rows[0].n,
    ).toBe(0);
    await release();
    await new Barrier(ctx("action"), { table, lockWaitMs: 200 }).call(one, credit);
    expect(await balance(account)).toBe(105);
  },
  20_000,
);

pgTest(
  `an XA action blocked by another prepared branch answers ONGOING and frees its connection ${SKIP}`,
  async () => {
    const { account, release } = await lockedByPreparedBranch();
    const xa = new XaResource(one, { table, lockWaitMs: 200 });
    const c = { ...ctx("action", "xa"), dtm: "http://127.0.0.1:1", phase2Url: "http://127.0.0.1:1/xa" };
    const debit = (tx: pg.ClientBase) =>
      tx.query("update account set balance = balance - 5 where name = $1", [account]);
    const err = await xa.action(c, debit).catch((e: unknown) => e);
    expect(isBranchOngoing(err)).toBe(true);
    expect(
      (await one.query("select count(*)::int as n from pg_prepared_xacts where gid like $1", [`${c.gid}-%`]))
        .rows[0].n,
    ).toBe(0);
    await release();
    expect(await balance(account)).toBe(100);
  },
  20_000,
);
