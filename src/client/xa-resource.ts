import type { ClientBase, Pool, PoolClient } from "pg";
import { DEFAULT_BARRIER_TABLE, DEFAULT_LOCK_WAIT_MS, lockedOngoing } from "./barrier";
import {
  begin,
  checkTableName,
  commit,
  insertBarrier,
  isLockNotAvailable,
  resetLocalLockTimeout,
  rollback,
  selectBarrierReason,
  setLocalLockTimeout,
  type BarrierRow,
} from "./barrier-statements";
import type { BranchContext } from "./branch-context";
import { Coordinator } from "./coordinator";
import { BranchFailure, BranchOngoing } from "./errors";
import {
  commitPrepared,
  isPrepared,
  maxPreparedTransactions,
  prepareTransaction,
  rollbackPrepared,
  xaId,
} from "./xa-statements";

/** Options of an {@link XaResource}. @example new XaResource(pool, { table: "payments.barrier" }) */
export interface XaResourceOptions {
  /** The barrier table (created with {@link createBarrierTables}). Default `dtm_barrier.barrier`. */
  table?: string;
  /** The coordinator branches are registered with; default: the one the action names (`dtm`). */
  coordinator?: Coordinator;
  /**
   * How long a call waits for a row lock — another call of the same branch, or a row its action
   * changes that another transaction (e.g. a prepared branch) holds — before answering ONGOING.
   * Default 3 s.
   */
  lockWaitMs?: number;
}

/** Postgres' SQLSTATE: no such prepared transaction. */
const UNDEFINED_OBJECT = "42704";

/**
 * A Postgres database as an XA resource manager (dtm's XA on Postgres). An XA action runs the
 * business function in a local transaction, registers the branch with the coordinator and ends
 * with `PREPARE TRANSACTION '<gid>-<branch_id>'`: the changes survive a crash of the process or of
 * Postgres, and hold their row locks, until the coordinator calls phase 2 — `COMMIT PREPARED` or
 * `ROLLBACK PREPARED`, from any connection. Every call is safe to repeat and to arrive out of
 * order: a repeated action or phase 2 does nothing; a rollback whose action never prepared records
 * that, and the late action then fails without running.
 *
 * Postgres needs `max_prepared_transactions` > 0 (0 by default; set it and restart Postgres).
 *
 * @example
 * const xa = new XaResource(pool);
 * // the handler of the XA action URL; the coordinator calls the same URL for phase 2
 * httpBranchRoutes({ "/api/bank/XaTransOut": (call) => xa.handle(call.ctx, (tx) => debit(tx, call.json())) });
 */
export class XaResource {
  private readonly table: string;
  private supported?: Promise<void>;

  constructor(
    readonly pool: Pool,
    private readonly options: XaResourceOptions = {},
  ) {
    this.table = checkTableName(options.table ?? DEFAULT_BARRIER_TABLE);
  }

  /**
   * One call of an XA branch, whatever its op: `action` runs {@link XaResource.action}, `commit`
   * and `rollback` run {@link XaResource.phase2}.
   *
   * @example
   * await xa.handle(call.ctx, (tx) => credit(tx, user, amount));
   */
  handle<R>(ctx: BranchContext, business: (tx: ClientBase) => Promise<R>): Promise<R | undefined> {
    if (ctx.op === "action") return this.action(ctx, business);
    if (ctx.op === "commit" || ctx.op === "rollback") return this.phase2(ctx).then(() => undefined);
    throw new BranchFailure(`xa: op must be action, commit or rollback, not ${JSON.stringify(ctx.op)}`);
  }

  /**
   * The action: `business` in a local transaction that is registered with the coordinator (`dtm`,
   * with `phase2Url`) and prepared. Resolves with what `business` returned (undefined when the
   * branch was prepared or committed before: nothing runs again); throws {@link BranchFailure} when
   * the branch was rolled back before the action arrived, or when `business` threw it.
   *
   * @example
   * await xa.action(ctx, (tx) => tx.query("update account set balance = balance - 30 where name = 'alice'"));
   */
  async action<R>(ctx: BranchContext, business: (tx: ClientBase) => Promise<R>): Promise<R | undefined> {
    if (!ctx.dtm || !ctx.phase2Url) {
      throw new BranchFailure("xa: an action needs the coordinator (dtm) and its phase2_url");
    }
    return this.prepareLocal(ctx, business, () => this.register(ctx));
  }

  /**
   * The action's local transaction up to `PREPARE TRANSACTION`, with `register` run just before
   * the prepare (a failed registration rolls the transaction back).
   *
   * @internal a workflow's XA step records its progress instead of registering
   */
  async prepareLocal<R>(
    ctx: BranchContext,
    business: (tx: ClientBase) => Promise<R>,
    register: () => Promise<void>,
  ): Promise<R | undefined> {
    const id = this.idOf(ctx);
    await this.checkSupported();
    if (await isPrepared(this.pool, id)) return undefined; // a repeat: prepared and registered already
    return inTransaction(this.pool, async (client) => {
      if ((await this.insertWaiting(client, this.rowOf(ctx, "action"))) === 0) {
        await rollback(client);
        return this.repeatedAction(ctx);
      }
      // bounded like the barrier row's insert: waiting for a prepared branch's rows keeps a connection
      await setLocalLockTimeout(client, this.lockWaitMs);
      const result = await business(client).catch((err: unknown) => {
        throw lockedOngoing(err, `xa ${id}`, this.lockWaitMs);
      });
      await register();
      await prepareTransaction(client, id);
      return result;
    });
  }

  /**
   * Phase 2: `COMMIT PREPARED` (op `commit`) or `ROLLBACK PREPARED` (op `rollback`) of the branch's
   * prepared transaction. A repeat does nothing; a rollback of an action that never prepared is
   * recorded, so that the action cannot run later.
   *
   * @example
   * await xa.phase2(ctx); // ctx.op is commit or rollback
   */
  async phase2(ctx: BranchContext): Promise<void> {
    const id = this.idOf(ctx);
    if (ctx.op === "commit") {
      if (await finishPrepared(() => commitPrepared(this.pool, id))) return;
      // no prepared transaction: done before, unless the action never prepared at all
      const reason = await selectBarrierReason(this.pool, this.table, this.keyOf(ctx));
      if (reason === "action") return;
      throw new Error(
        `xa ${id}: commit of a branch that is not prepared (${reason ?? "no action recorded"})`,
      );
    }
    if (ctx.op !== "rollback")
      throw new BranchFailure(`xa: phase 2 op must be commit or rollback, not ${ctx.op}`);
    await finishPrepared(() => rollbackPrepared(this.pool, id));
    const written = await inTransaction(this.pool, async (client) => {
      const n = await this.insertWaiting(client, this.rowOf(ctx, "rollback"));
      await commit(client);
      return n;
    });
    if (written > 0) return;
    const reason = await selectBarrierReason(this.pool, this.table, this.keyOf(ctx));
    if (reason !== "rollback") throw new Error(`xa ${id}: rollback of a branch already committed`);
  }

  /** An action whose barrier row exists: committed before (a repeat) or rolled back first. */
  private async repeatedAction(ctx: BranchContext): Promise<undefined> {
    const reason = await selectBarrierReason(this.pool, this.table, this.keyOf(ctx));
    if (reason === "rollback") {
      throw new BranchFailure(`xa ${ctx.gid}-${ctx.branchId}: rolled back before its action arrived`);
    }
    return undefined;
  }

  /**
   * Inserts a barrier row, waiting at most `lockWaitMs` for a call of the same branch that holds it
   * (a prepared transaction holds it until phase 2): then ONGOING, the caller tries again.
   */
  private async insertWaiting(client: ClientBase, row: BarrierRow): Promise<number> {
    await setLocalLockTimeout(client, this.lockWaitMs);
    try {
      return await insertBarrier(client, this.table, row);
    } catch (err) {
      if (!isLockNotAvailable(err)) throw err;
      throw new BranchOngoing(`xa ${row.gid}-${row.branchId}: another call of the branch is running`);
    } finally {
      await resetLocalLockTimeout(client).catch(() => undefined);
    }
  }

  private async register(ctx: BranchContext): Promise<void> {
    const coordinator = this.options.coordinator ?? Coordinator.connect(ctx.dtm);
    try {
      await coordinator.transport.registerBranch({
        gid: ctx.gid,
        transType: "xa",
        branchId: ctx.branchId,
        data: { url: ctx.phase2Url ?? "" },
        payload: new Uint8Array(0),
      });
    } finally {
      if (coordinator !== this.options.coordinator) await coordinator.close();
    }
  }

  private get lockWaitMs(): number {
    return this.options.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;
  }

  private checkSupported(): Promise<void> {
    this.supported ??= maxPreparedTransactions(this.pool).then(
      (max) => {
        if (max === 0) throw new Error("max_prepared_transactions is 0");
      },
      (err: Error) => {
        throw new Error(`show max_prepared_transactions failed: ${err.message}`);
      },
    );
    return this.supported.catch((err: Error) => {
      throw new BranchFailure(
        `xa: the database cannot prepare transactions (${err.message}); XA needs Postgres with max_prepared_transactions > 0`,
      );
    });
  }

  private idOf(ctx: BranchContext): string {
    if (!ctx.gid || !ctx.branchId) throw new BranchFailure("xa: the call lacks gid or branch_id");
    return xaId(ctx.gid, ctx.branchId);
  }

  /** The branch's one barrier row (dtm's: op `action`, barrier `01`), written by `reason`. */
  private rowOf(ctx: BranchContext, reason: "action" | "rollback"): BarrierRow {
    return { transType: "xa", ...this.keyOf(ctx), reason };
  }

  private keyOf(ctx: BranchContext): Omit<BarrierRow, "reason" | "transType"> {
    return { gid: ctx.gid, branchId: ctx.branchId, op: "action", barrierId: "01" };
  }
}

/**
 * Runs `fn` in a transaction on one of the pool's connections; `fn` ends it (commit, prepare or
 * rollback). When `fn` throws, the transaction is rolled back.
 */
async function inTransaction<R>(pool: Pool, fn: (client: PoolClient) => Promise<R>): Promise<R> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await begin(client);
    return await fn(client);
  } catch (err) {
    await rollback(client).catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Runs COMMIT or ROLLBACK PREPARED; resolves false when there was no such prepared transaction. */
async function finishPrepared(statement: () => Promise<void>): Promise<boolean> {
  try {
    await statement();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === UNDEFINED_OBJECT) return false;
    throw err;
  }
}
