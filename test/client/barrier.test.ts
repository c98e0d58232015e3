/**
 * The barrier (§7 of the protocol) on PGlite (default) or Postgres (DTX_TEST_DATABASE_URL): what runs,
 * what is skipped, and what is written, for every order in which a coordinator may call.
 */
import type { ClientBase } from "pg";
import {
  Barrier,
  BranchFailure,
  createBarrierTables,
  DEFAULT_BARRIER_TABLE,
  isBranchFailure,
  isDuplicated,
  type BranchContext,
} from "../../src/client";
import { openTestDb, type TestDb } from "../support/test-db";

let db: TestDb;
let table: string;
let seq = 0;

beforeAll(async () => {
  db = await openTestDb();
  // PGlite: dtm's default table; Postgres: a table in this file's schema
  table = db.kind === "pglite" ? DEFAULT_BARRIER_TABLE : `${db.schema}.barrier`;
  await createBarrierTables(db.pool, table);
  await createBarrierTables(db.pool, table); // twice: creating is idempotent
  await db.pool.query("create table account (name text primary key, balance int not null)");
});
afterAll(() => db?.close());

/** A fresh account with 100, and the context of one branch of a fresh transaction. */
async function fresh(transType = "saga"): Promise<{ account: string; ctx: (op: string) => BranchContext }> {
  const n = ++seq;
  const account = `acct${n}`;
  const gid = `gid-${n}`;
  await db.pool.query("insert into account values ($1, 100)", [account]);
  return { account, ctx: (op) => ({ gid, transType, branchId: "01", op, dtm: "" }) };
}

async function balance(account: string): Promise<number> {
  const { rows } = await db.pool.query<{ balance: number }>("select balance from account where name = $1", [
    account,
  ]);
  return rows[0]!.balance;
}

async function rows(gid: string): Promise<string[]> {
  const { rows: r } = await db.pool.query<{
    op: string;
    barrier_id: string;
    reason: string;
    trans_type: string;
  }>(`select op, barrier_id, reason, trans_type from ${table} where gid = $1 order by id`, [gid]);
  return r.map((x) => `${x.trans_type}/${x.op}/${x.barrier_id}/${x.reason}`);
}

/** Moves `delta` on the account behind a barrier of `ctx`; resolves with whether the business ran. */
function move(ctx: BranchContext, account: string, delta: number, tx?: ClientBase): Promise<boolean> {
  const business = async (c: ClientBase): Promise<boolean> => {
    await c.query("update account set balance = balance + $1 where name = $2", [delta, account]);
    return true;
  };
  const barrier = new Barrier(ctx, { table });
  return (tx ? barrier.callInTransaction(tx, business) : barrier.call(db.pool, business)).then(
    (r) => r === true,
  );
}

test("a duplicate forward call does nothing", async () => {
  const { account, ctx } = await fresh();
  expect(await move(ctx("action"), account, -30)).toBe(true);
  expect(await move(ctx("action"), account, -30)).toBe(false);
  expect(await balance(account)).toBe(70);
  expect(await rows(ctx("action").gid)).toEqual(["saga/action/01/action"]);
});

test("a duplicate compensation does nothing", async () => {
  const { account, ctx } = await fresh();
  await move(ctx("action"), account, -30);
  expect(await move(ctx("compensate"), account, 30)).toBe(true);
  expect(await move(ctx("compensate"), account, 30)).toBe(false);
  expect(await balance(account)).toBe(100);
});

test("a compensation before its forward call does nothing (null compensation) and records both", async () => {
  const { account, ctx } = await fresh();
  expect(await move(ctx("compensate"), account, 30)).toBe(false);
  expect(await balance(account)).toBe(100);
  expect(await rows(ctx("action").gid)).toEqual([
    "saga/action/01/compensate",
    "saga/compensate/01/compensate",
  ]);
});

test("a forward call after its compensation does nothing (hanging)", async () => {
  const { account, ctx } = await fresh();
  await move(ctx("compensate"), account, 30);
  expect(await move(ctx("action"), account, -30)).toBe(false);
  expect(await balance(account)).toBe(100);
});

test("TCC: cancel undoes a try; a try after its cancel does nothing; confirm has no origin", async () => {
  const a = await fresh("tcc");
  await move(a.ctx("try"), a.account, -30);
  expect(await move(a.ctx("cancel"), a.account, 30)).toBe(true);
  expect(await balance(a.account)).toBe(100);
  const b = await fresh("tcc");
  expect(await move(b.ctx("cancel"), b.account, 30)).toBe(false);
  expect(await move(b.ctx("try"), b.account, -30)).toBe(false);
  expect(await move(b.ctx("confirm"), b.account, 0)).toBe(true);
  expect(await rows(b.ctx("try").gid)).toEqual([
    "tcc/try/01/cancel",
    "tcc/cancel/01/cancel",
    "tcc/confirm/01/confirm",
  ]);
});

test("a business error rolls the barrier rows back with the business: the next call runs it", async () => {
  const { account, ctx } = await fresh();
  const failing = new Barrier(ctx("action"), { table }).call(db.pool, async (tx) => {
    await tx.query("update account set balance = balance - 30 where name = $1", [account]);
    throw new BranchFailure("insufficient funds");
  });
  await expect(failing).rejects.toThrow("insufficient funds");
  expect(await balance(account)).toBe(100);
  expect(await rows(ctx("action").gid)).toEqual([]);
  // a saga rolls back: the compensation of the failed action is a null compensation
  expect(await move(ctx("compensate"), account, 30)).toBe(false);
  expect(await balance(account)).toBe(100);
});

test("each call on one barrier takes the next barrier id", async () => {
  const { account, ctx } = await fresh();
  const barrier = new Barrier(ctx("action"), { table });
  const run = (tx: ClientBase) =>
    tx.query("update account set balance = balance - 1 where name = $1", [account]);
  await barrier.call(db.pool, run);
  await barrier.call(db.pool, run);
  expect(await rows(ctx("action").gid)).toEqual(["saga/action/01/action", "saga/action/02/action"]);
  expect(await balance(account)).toBe(98);
});

test("inside the caller's transaction: the caller's rollback takes the barrier rows with it", async () => {
  const { account, ctx } = await fresh();
  const tx = await db.pool.connect();
  try {
    await tx.query("begin");
    expect(await move(ctx("action"), account, -30, tx)).toBe(true);
    await tx.query("rollback");
    await tx.query("begin");
    expect(await move(ctx("action"), account, -30, tx)).toBe(true);
    await tx.query("commit");
  } finally {
    tx.release();
  }
  expect(await balance(account)).toBe(70);
});

describe("a forward call and its compensation racing from two connections", () => {
  test("forward first: the compensation waits for it, then undoes it", async () => {
    const { account, ctx } = await fresh();
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let forwardDone = false;
    const forward = new Barrier(ctx("action"), { table })
      .call(db.pool, async (tx) => {
        await tx.query("update account set balance = balance - 30 where name = $1", [account]);
        await gate; // the forward transaction stays open
      })
      .then(() => (forwardDone = true));
    await new Promise((r) => setTimeout(r, 50));
    const compensation = move(ctx("compensate"), account, 30).then((ran) => ({
      ran,
      afterForward: forwardDone,
    }));
    // it cannot finish while the forward transaction is open (Postgres: the unique key; PGlite: one connection)
    await new Promise((r) => setTimeout(r, 200));
    open();
    await forward;
    expect(await compensation).toEqual({ ran: true, afterForward: true });
    expect(await balance(account)).toBe(100);
  });

  test("compensation first: the forward call waits for it, then does nothing", async () => {
    const { account, ctx } = await fresh();
    const tx = await db.pool.connect();
    let forward: Promise<boolean> | undefined;
    try {
      await tx.query("begin");
      expect(await move(ctx("compensate"), account, 30, tx)).toBe(false);
      forward = move(ctx("action"), account, -30);
      const early = await Promise.race([forward, new Promise((r) => setTimeout(() => r("waiting"), 200))]);
      expect(early).toBe("waiting");
      await tx.query("commit");
    } finally {
      tx.release();
    }
    expect(await forward).toBe(false);
    expect(await balance(account)).toBe(100);
  });
});

test("many racing pairs: never a forward call committed and its compensation skipped", async () => {
  const pairs = await Promise.all(Array.from({ length: 12 }, () => fresh()));
  await Promise.all(
    pairs.flatMap(({ account, ctx }, i) => {
      const forward = (): Promise<boolean> => move(ctx("action"), account, -30);
      const compensation = (): Promise<boolean> => move(ctx("compensate"), account, 30);
      return i % 2 ? [forward(), compensation()] : [compensation(), forward()];
    }),
  );
  const balances = await Promise.all(pairs.map((p) => balance(p.account)));
  expect(balances).toEqual(pairs.map(() => 100));
});

describe("a message's local transaction and its check-back", () => {
  test("committed: the check-back answers success; a second local run is Duplicated", async () => {
    const { account, ctx } = await fresh("msg");
    const local = ctx("msg");
    local.branchId = "00";
    expect(await move(local, account, -30)).toBe(true);
    await expect(
      new Barrier({ ...local, op: "msg" }, { table }).queryPrepared(db.pool),
    ).resolves.toBeUndefined();
    const again = await move(local, account, -30).catch((e: unknown) => e);
    expect(isDuplicated(again)).toBe(true);
    expect(await balance(account)).toBe(70);
  });

  test("never run: the check-back answers FAILURE, and the late local transaction is Duplicated", async () => {
    const { account, ctx } = await fresh("msg");
    const local = { ...ctx("msg"), branchId: "00" };
    const answer = await new Barrier(local, { table }).queryPrepared(db.pool).catch((e: unknown) => e);
    expect(isBranchFailure(answer)).toBe(true);
    const late = await move(local, account, -30).catch((e: unknown) => e);
    expect(isDuplicated(late)).toBe(true);
    expect(await balance(account)).toBe(100);
    expect(await rows(local.gid)).toEqual(["msg/msg/01/rollback"]);
  });

  test("still running: the check-back waits for the local transaction's commit", async () => {
    const { account, ctx } = await fresh("msg");
    const local = { ...ctx("msg"), branchId: "00" };
    const tx = await db.pool.connect();
    let checkBack: Promise<unknown> | undefined;
    try {
      await tx.query("begin");
      expect(await move(local, account, -30, tx)).toBe(true);
      checkBack = new Barrier(local, { table }).queryPrepared(db.pool).then(
        () => "SUCCESS",
        (e: unknown) => e,
      );
      await new Promise((r) => setTimeout(r, 100));
      await tx.query("commit");
    } finally {
      tx.release();
    }
    expect(await checkBack).toBe("SUCCESS");
  });
});

test("a context without gid, trans_type, branch_id or op, and a table name that is no name, are refused", () => {
  expect(() => new Barrier({ gid: "g", transType: "", branchId: "", op: "action", dtm: "" })).toThrow(
    "barrier: the branch call lacks transType, branchId",
  );
  expect(
    () =>
      new Barrier(
        { gid: "g", transType: "saga", branchId: "01", op: "action", dtm: "" },
        { table: "x; drop" },
      ),
  ).toThrow(/is not a \[schema.\]table name/);
});
