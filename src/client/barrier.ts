import type { ClientBase, Pool } from "pg";
import {
  begin,
  checkTableName,
  commit,
  createBarrierSchema,
  createBarrierTable,
  insertBarrier,
  isLockNotAvailable,
  rollback,
  selectBarrierReason,
  setLocalLockTimeout,
  type Queryable,
} from "./barrier-statements";
import type { BranchContext } from "./branch-context";
import { BranchFailure, BranchOngoing, Duplicated } from "./errors";

/** dtm's default barrier table. @example new Barrier(ctx, { table: DEFAULT_BARRIER_TABLE }) */
export const DEFAULT_BARRIER_TABLE = "dtm_barrier.barrier";

/** A compensating op and the forward op it undoes. */
const ORIGIN: Record<string, string> = { cancel: "try", compensate: "action", rollback: "action" };

/** The message check-back's key (dtm's): branch `00`, op `msg`, the first barrier. */
const MSG_KEY = { branchId: "00", op: "msg", barrierId: "01" };

/** How long a branch's transaction waits for a row lock by default (ms). */
export const DEFAULT_LOCK_WAIT_MS = 3000;

/**
 * Options of a barrier.
 *
 * @example
 * new Barrier(ctx, { table: "payments.barrier", lockWaitMs: 1000 });
 */
export interface BarrierOptions {
  /** The barrier table, `[schema.]table`. Default `dtm_barrier.barrier` (dtm's). */
  table?: string;
  /**
   * How long {@link Barrier.call}'s transaction waits for a row lock (Postgres' `lock_timeout`)
   * before the call answers ONGOING and the coordinator calls again later. Default 3 s. A prepared
   * XA branch holds its row locks until its phase 2: a branch waiting for them without a bound keeps
   * its connection, and enough of them take every connection the XA transaction needs to finish.
   */
  lockWaitMs?: number;
}

/**
 * The sub-transaction barrier (dtm's): makes a branch safe against what a coordinator that calls
 * at least once, in any order, can do. In the branch's own database transaction it records the
 * call in the barrier table (`unique (gid, branch_id, op, barrier_id)`) and runs the business
 * function only when it should:
 *
 * - a repeated call does nothing (idempotency);
 * - a compensation whose forward operation never ran does nothing, and records that it ran
 *   ("null compensation");
 * - a forward operation arriving after its compensation does nothing ("hanging");
 * - a forward operation and its compensation racing on two connections are serialised by the
 *   unique key: either both run, in order, or neither does.
 *
 * One barrier per branch call (each `call` on it takes the next barrier id, `01`, `02`, …).
 *
 * @example
 * const barrier = new Barrier(ctx);
 * await barrier.call(pool, async (tx) => {
 *   await tx.query("update account set balance = balance - $1 where name = $2", [amount, user]);
 * });
 */
export class Barrier {
  private readonly table: string;
  private readonly lockWaitMs: number;
  private calls = 0;

  /** @throws TypeError when the context lacks gid, trans_type, branch_id or op */
  constructor(
    readonly ctx: BranchContext,
    options: BarrierOptions = {},
  ) {
    this.table = checkTableName(options.table ?? DEFAULT_BARRIER_TABLE);
    this.lockWaitMs = options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
    const missing = (["gid", "transType", "branchId", "op"] as const).filter((k) => !ctx[k]);
    if (missing.length > 0) {
      throw new TypeError(
        `barrier: the branch call lacks ${missing.join(", ")} (query parameters or dtm-* metadata)`,
      );
    }
  }

  /**
   * Runs `business` in a new transaction on `db` (a pool: one of its connections; a client: that
   * connection) behind the barrier, and commits. When the barrier says the call must do nothing,
   * `business` is not run and the call resolves with undefined; when `business` throws, everything is
   * rolled back (the barrier rows too) and the error propagates. A row lock not granted within
   * `lockWaitMs` rolls back too and throws {@link BranchOngoing}: the coordinator calls again later.
   *
   * @example
   * await new Barrier(ctx).call(pool, (tx) => tx.query("update account set balance = balance + $1 where name = $2", [30, "bob"]));
   */
  async call<R>(db: Pool | ClientBase, business: (tx: ClientBase) => Promise<R>): Promise<R | undefined> {
    const client = isPool(db) ? await db.connect() : db;
    let broken: Error | undefined;
    try {
      await begin(client).catch((e: Error) => {
        throw (broken = e);
      });
      try {
        await setLocalLockTimeout(client, this.lockWaitMs);
        const result = await this.callInTransaction(client, business);
        await commit(client);
        return result;
      } catch (err) {
        await rollback(client).catch((e: Error) => (broken = e));
        throw lockedOngoing(
          err,
          `${this.ctx.gid} branch ${this.ctx.branchId} ${this.ctx.op}`,
          this.lockWaitMs,
        );
      }
    } finally {
      if (client !== db) (client as ClientBase & { release(err?: Error): void }).release(broken);
    }
  }

  /**
   * Like {@link Barrier.call}, inside the caller's transaction: `tx` must be a client on which the
   * caller has run `begin`; the caller commits or rolls back (roll back when this throws).
   *
   * @example
   * await tx.query("begin");
   * await barrier.callInTransaction(tx, (tx) => debit(tx, user, amount));
   * await tx.query("commit");
   */
  async callInTransaction<R>(
    tx: ClientBase,
    business: (tx: ClientBase) => Promise<R>,
  ): Promise<R | undefined> {
    const { transType, gid, branchId, op } = this.ctx;
    const barrierId = String(++this.calls).padStart(2, "0");
    const origin = ORIGIN[op];
    const originWritten = origin
      ? await insertBarrier(tx, this.table, { transType, gid, branchId, op: origin, barrierId, reason: op })
      : 0;
    const written = await insertBarrier(tx, this.table, {
      transType,
      gid,
      branchId,
      op,
      barrierId,
      reason: op,
    });
    if (op === MSG_KEY.op && written === 0) {
      throw new Duplicated(
        `the local transaction of message ${gid} was already decided (check-back or a second run)`,
      );
    }
    if (originWritten > 0 || written === 0) return undefined; // null compensation, duplicate or hanging
    return business(tx);
  }

  /**
   * Answers a message's check-back from the barrier table: resolves when the message's local
   * transaction (run by {@link Msg.doAndSubmit}) committed; throws {@link BranchFailure} when it did
   * not — and from then on it never can, since this writes its barrier row first. Waits for a local
   * transaction still running.
   *
   * @example
   * await new Barrier(ctx).queryPrepared(pool); // in the handler of the message's queryPrepared URL
   */
  async queryPrepared(db: Queryable): Promise<void> {
    const key = { gid: this.ctx.gid, ...MSG_KEY };
    await insertBarrier(db, this.table, { ...key, transType: this.ctx.transType, reason: "rollback" });
    const reason = await selectBarrierReason(db, this.table, key);
    if (reason === "rollback")
      throw new BranchFailure(`message ${this.ctx.gid}: its local transaction did not commit`);
  }
}

/**
 * Creates the barrier table (and its schema) if missing, with dtm's columns and unique key.
 *
 * @example
 * await createBarrierTables(pool); // dtm_barrier.barrier
 */
export async function createBarrierTables(db: Queryable, table = DEFAULT_BARRIER_TABLE): Promise<void> {
  checkTableName(table);
  if (table.includes(".")) await createBarrierSchema(db, table.split(".")[0]!);
  await createBarrierTable(db, table);
}

/**
 * `err` itself, or, when it is a row lock not granted within lock_timeout, a {@link BranchOngoing}
 * saying so (the call is worth repeating once the lock's holder ends).
 *
 * @internal shared with XaResource
 */
export function lockedOngoing(err: unknown, what: string, lockWaitMs: number): unknown {
  if (!isLockNotAvailable(err)) return err;
  return new BranchOngoing(
    `${what}: a row it needs stayed locked for ${lockWaitMs} ms (another transaction, e.g. a prepared XA branch, holds it); try again`,
    { cause: err },
  );
}

function isPool(db: Pool | ClientBase): db is Pool {
  return typeof (db as Pool).totalCount === "number";
}
