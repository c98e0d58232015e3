/**
 * A test application (the "AP") for 2-phase messages, playing what dtm's SDKs do around a message: a
 * local database with an `account` table and a minimal sub-transaction barrier table (dtm's §7: one row
 * per `(gid, branch_id, op, barrier_id)`, the first insert wins), a local transaction that commits the
 * business and the barrier row `(gid, 00, msg, 01)` together, and the check-back (`query_prepared`) served
 * over HTTP and gRPC from that barrier. The database is PGlite, or a fresh schema on DTX_TEST_DATABASE_URL.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import pg from "pg";
import { newSchemaName } from "./coordinator";
import { pgliteDataDir, removePgliteDataDir } from "./pglite-template";

/** What a check-back found: the local transaction committed (SUCCESS) or never will (FAILURE). */
export type CheckBack = "SUCCESS" | "FAILURE";

/** The error a local transaction ends with when the check-back came first (dtm's ErrDuplicated). */
export class Duplicated extends Error {
  constructor() {
    super("DUPLICATED");
  }
}

const identity = (b: Buffer): Buffer => b;

export class TestAp {
  private constructor(
    private readonly db: pg.Pool,
    private readonly schema: string | null,
    private readonly close_: () => Promise<void>,
    private readonly httpServer: http.Server,
    private readonly grpcServer: grpc.Server,
    /** `http://127.0.0.1:<port>/api/ap/QueryPrepared` */
    readonly queryPreparedUrl: string,
    /** `127.0.0.1:<port>/busi.Busi/QueryPrepared` */
    readonly queryPreparedGrpc: string,
  ) {}

  static async start(): Promise<TestAp> {
    const url = process.env.DTX_TEST_DATABASE_URL;
    let db: pg.Pool;
    let schema: string | null = null;
    let closeDb = async (): Promise<void> => undefined;
    if (url) {
      schema = newSchemaName();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      await admin.end();
      db = new pg.Pool({ connectionString: url, max: 4, options: `-c search_path=${schema}` });
    } else {
      const { PGlite } = await import("@electric-sql/pglite");
      const { createPgConfig } = await import("@electric-sql/pglite/node-postgres");
      const dataDir = pgliteDataDir();
      const lite = await PGlite.create(dataDir);
      db = new pg.Pool(createPgConfig(lite) as unknown as pg.PoolConfig);
      closeDb = async () => {
        await lite.close();
        removePgliteDataDir(dataDir);
      };
    }
    await db.query(`
      create table barrier (
        trans_type varchar(45) not null, gid varchar(128) not null, branch_id varchar(128) not null,
        op varchar(45) not null, barrier_id varchar(45) not null, reason varchar(45) not null,
        constraint uniq_barrier unique (gid, branch_id, op, barrier_id));
      create table account (user_id int primary key, balance int not null);
      insert into account values (1, 10000), (2, 10000);`);

    let self: TestAp | undefined;
    const httpServer = http.createServer((req, res) => {
      const gid = new URL(req.url ?? "/", "http://ap").searchParams.get("gid") ?? "";
      req.resume();
      void self!.checkBack(gid).then((r) => {
        res.writeHead(r === "SUCCESS" ? 200 : 409, { "content-type": "application/json" });
        res.end(JSON.stringify({ dtm_result: r }));
      });
    });
    const httpPort = await new Promise<number>((resolve) =>
      httpServer.listen(0, "127.0.0.1", () => resolve((httpServer.address() as AddressInfo).port)),
    );
    const grpcServer = new grpc.Server();
    const handler: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      const gid = String(call.metadata.get("dtm-gid")[0] ?? "");
      void self!
        .checkBack(gid)
        .then((r) =>
          r === "SUCCESS"
            ? callback(null, Buffer.alloc(0))
            : callback({ code: grpc.status.ABORTED, details: "FAILURE" }),
        );
    };
    grpcServer.register("/busi.Busi/QueryPrepared", handler, identity, identity, "unary");
    const grpcPort = await new Promise<number>((resolve, reject) =>
      grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    self = new TestAp(
      db,
      schema,
      closeDb,
      httpServer,
      grpcServer,
      `http://127.0.0.1:${httpPort}/api/ap/QueryPrepared`,
      `127.0.0.1:${grpcPort}/busi.Busi/QueryPrepared`,
    );
    return self;
  }

  /**
   * The local transaction of a message (dtm's barrier call for `(gid, 00, msg)`): the barrier row and
   * the business commit together, or neither. The barrier row taken already (the check-back came
   * first and decided FAILURE) → Duplicated, nothing done.
   */
  async localTransaction(gid: string, business: (tx: pg.PoolClient) => Promise<void>): Promise<void> {
    const tx = await this.db.connect();
    try {
      await tx.query("begin");
      const { rowCount } = await tx.query(
        `insert into barrier values ('msg', $1, '00', 'msg', '01', 'msg') on conflict on constraint uniq_barrier do nothing`,
        [gid],
      );
      if (rowCount === 0) throw new Duplicated();
      await business(tx);
      await tx.query("commit");
    } catch (err) {
      await tx.query("rollback");
      throw err;
    } finally {
      tx.release();
    }
  }

  /**
   * The check-back (dtm's QueryPrepared on the barrier): insert the barrier row with reason `rollback`
   * unless it exists, then read it — `rollback` means the local transaction never committed, and now
   * never will (its own insert would find the row taken).
   */
  async checkBack(gid: string): Promise<CheckBack> {
    await this.db.query(
      `insert into barrier values ('msg', $1, '00', 'msg', '01', 'rollback') on conflict on constraint uniq_barrier do nothing`,
      [gid],
    );
    const { rows } = await this.db.query<{ reason: string }>(
      `select reason from barrier where gid = $1 and branch_id = '00' and op = 'msg' and barrier_id = '01'`,
      [gid],
    );
    return rows[0]?.reason === "rollback" ? "FAILURE" : "SUCCESS";
  }

  /** Moves `amount` off user 1's balance inside a local transaction. */
  static debit(amount: number): (tx: pg.PoolClient) => Promise<void> {
    return async (tx) => {
      await tx.query("update account set balance = balance - $1 where user_id = 1", [amount]);
    };
  }

  async balance(user: number): Promise<number> {
    const { rows } = await this.db.query<{ balance: number }>(
      "select balance from account where user_id = $1",
      [user],
    );
    return rows[0]!.balance;
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.httpServer.close(() => r()));
    await new Promise<void>((r) => this.grpcServer.tryShutdown(() => r()));
    await this.db.end();
    await this.close_();
    if (this.schema) {
      const admin = new pg.Client({ connectionString: process.env.DTX_TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`drop schema ${this.schema} cascade`);
      await admin.end();
    }
  }
}
