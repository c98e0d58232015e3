/**
 * The SDK's 2-phase messages against a real coordinator: scenarios 50–52 of §10.3 through the SDK
 * (doAndSubmit with the barrier, a business error answered by the check-back, a check-back that came
 * first), the coordinator's own check-back answered by the queryPrepared helpers, and plain
 * submit / prepare / abort, over HTTP and gRPC.
 */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ClientBase, Pool } from "pg";
import { request } from "undici";
import { SagaBranchService } from "../../gen/dtx/v1/branch_pb";
import {
  Barrier,
  BranchFailure,
  connectQueryPrepared,
  Coordinator,
  createBarrierTables,
  httpBranchRoutes,
  httpQueryPrepared,
  isDuplicated,
} from "../../src/client";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { listenH2c, listenHttp, type Listening } from "../support/listen";
import { openTestDb, type TestDb } from "../support/test-db";
import { callsOf, freshGid, summary } from "./saga-helpers";

let dtx: TestCoordinator;
let rm: BranchServices;
let db: TestDb;
let table: string;
let http: Coordinator;
let grpc: Coordinator;
/** The application's check-back, over HTTP and over gRPC (a Connect method), on its own database. */
let qpHttp: Listening;
let qpGrpc: Listening;
let qpUrl: string;
let qpGrpcUrl: string;

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  rm = await BranchServices.start();
  db = await openTestDb();
  table = db.kind === "postgres" ? `${db.schema}.barrier` : "dtm_barrier.barrier";
  await createBarrierTables(db.pool, table);
  await db.pool.query("create table account (name text primary key, balance int not null)");
  await db.pool.query("insert into account values ('alice', 1000)");
  http = Coordinator.http(dtx.base);
  grpc = Coordinator.grpc(dtx.grpcTarget);
  qpHttp = await listenHttp(
    httpBranchRoutes({ "/app/QueryPrepared": httpQueryPrepared(db.pool, { table }) }),
  );
  qpGrpc = await listenH2c(
    connectNodeAdapter({
      routes: (r) =>
        r.service(SagaBranchService, {
          action: connectQueryPrepared(db.pool, { table }),
          compensate: () => ({}),
        }),
    }),
  );
  qpUrl = `http://127.0.0.1:${qpHttp.port}/app/QueryPrepared`;
  qpGrpcUrl = `127.0.0.1:${qpGrpc.port}/${SagaBranchService.typeName}/Action`;
});
afterAll(async () => {
  await http?.close();
  await grpc?.close();
  await Promise.all([qpHttp?.close(), qpGrpc?.close()]);
  await db?.close();
  await rm?.close();
  await dtx?.close();
});

const IN = { user: "bob", amount: 30 };

async function alice(): Promise<number> {
  const { rows } = await db.pool.query<{ balance: number }>(
    "select balance from account where name = 'alice'",
  );
  return rows[0]!.balance;
}

const debit = (amount: number) => async (tx: ClientBase) => {
  await tx.query("update account set balance = balance - $1 where name = 'alice'", [amount]);
  return "debited";
};

describe("doAndSubmit (scenarios 50–52)", () => {
  test("50: the local transaction commits, the message is submitted and delivered", async () => {
    const before = await alice();
    const msg = http.msg({ gid: freshGid("sdk-msg-50") }).add(rm.url("TransIn"), IN);
    await expect(msg.doAndSubmit(qpUrl, db.pool, debit(30), { table })).resolves.toBe("debited");
    await dtx.settled(msg.gid);
    expect(await dtx.status(msg.gid)).toBe("succeed");
    expect(await dtx.branchVector(msg.gid)).toEqual(["S"]);
    expect(
      callsOf(rm, msg.gid).map((c) => [c.path, c.op, c.branchId, JSON.parse(c.body.toString())]),
    ).toEqual([["/api/busi/TransIn", "action", "01", IN]]);
    expect(await alice()).toBe(before - 30);
    // the barrier row says the local transaction committed
    const { rows } = await db.pool.query(`select branch_id, op, reason from ${table} where gid = $1`, [
      msg.gid,
    ]);
    expect(rows).toEqual([{ branch_id: "00", op: "msg", reason: "msg" }]);
  });

  test("50 over gRPC: the message, its step and its check-back are gRPC", async () => {
    const msg = grpc.msg({ gid: freshGid("sdk-gmsg-50") }).add(rm.grpcUrl("TransIn"), Uint8Array.of(8, 30));
    await msg.doAndSubmit(qpGrpcUrl, db.pool, debit(1), { table });
    await dtx.settled(msg.gid);
    expect(await dtx.status(msg.gid)).toBe("succeed");
    const { transaction } = await dtx.query(msg.gid);
    expect([transaction.protocol, transaction.query_prepared]).toEqual(["grpc", qpGrpcUrl]);
    expect(callsOf(rm, msg.gid).map((c) => [c.transport, c.path, [...c.body]])).toEqual([
      ["grpc", "/busi.Busi/TransIn", [8, 30]],
    ]);
  });

  test("51: a business error other than FAILURE is checked back (FAILURE), the message aborted, nothing sent", async () => {
    const before = await alice();
    const msg = http.msg({ gid: freshGid("sdk-msg-51") }).add(rm.url("TransIn"), IN);
    const blip = new Error("the database went away");
    const err = await msg
      .doAndSubmit(
        qpUrl,
        db.pool,
        async (tx) => {
          await debit(30)(tx);
          throw blip;
        },
        { table },
      )
      .catch((e: unknown) => e);
    expect(err).toBe(blip);
    expect(await dtx.status(msg.gid)).toBe("failed");
    expect(callsOf(rm, msg.gid)).toEqual([]);
    expect(await alice()).toBe(before);
  });

  test("a business FAILURE aborts at once: no check-back, nothing sent", async () => {
    const msg = http.msg({ gid: freshGid("sdk-msg-fail") }).add(rm.url("TransIn"), IN);
    await expect(
      msg.doAndSubmit(
        qpUrl,
        db.pool,
        async () => {
          throw new BranchFailure("insufficient funds");
        },
        { table },
      ),
    ).rejects.toThrow("insufficient funds");
    expect(await dtx.status(msg.gid)).toBe("failed");
    // no check-back was asked: it would have written its `rollback` row
    const { rows } = await db.pool.query(`select reason from ${table} where gid = $1`, [msg.gid]);
    expect(rows).toEqual([]);
  });

  test("52: a check-back that came first makes the local transaction Duplicated, without effect", async () => {
    const before = await alice();
    const gid = freshGid("sdk-msg-52");
    const early = await request(`${qpUrl}?gid=${gid}&trans_type=msg&branch_id=00&op=msg`);
    expect(early.statusCode).toBe(409);
    await early.body.dump();
    const err = await http
      .msg({ gid })
      .add(rm.url("TransIn"), IN)
      .doAndSubmit(qpUrl, db.pool, debit(30), { table })
      .catch((e: unknown) => e);
    expect(isDuplicated(err)).toBe(true);
    expect(await alice()).toBe(before);
    expect(await dtx.status(gid)).toBe("failed");
    expect(callsOf(rm, gid)).toEqual([]);
  });

  test("a commit whose answer was lost: the check-back says committed, so the message is submitted", async () => {
    const gid = freshGid("sdk-msg-lost-commit");
    const err = await http
      .msg({ gid })
      .add(rm.url("TransIn"), IN)
      .doAndSubmit(qpUrl, commitAnswerLost(db.pool), debit(5), { table })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe("connection lost after commit");
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("succeed");
    expect(summary(callsOf(rm, gid))).toEqual([["TransIn", "action", "01"]]);
  });
});

describe("the coordinator's check-back answered by the helpers", () => {
  async function prepared(
    gid: string,
    commitLocally: boolean,
    coordinator = http,
    qp = qpUrl,
  ): Promise<void> {
    const msg = coordinator.msg({ gid, timeoutToFail: "10s" }).add(rm.url("TransIn"), IN);
    await msg.prepare(qp);
    if (commitLocally) {
      await new Barrier({ gid, transType: "msg", branchId: "00", op: "msg", dtm: "" }, { table }).call(
        db.pool,
        debit(1),
      );
    }
    // …and the application stops here: neither submit nor abort arrives
  }

  test.each([
    ["HTTP", true, "succeed"],
    ["HTTP", false, "failed"],
    ["gRPC", true, "succeed"],
    ["gRPC", false, "failed"],
  ])("over %s, local transaction committed: %s → %s", async (via, committed, status) => {
    const gid = freshGid("sdk-msg-cb");
    await prepared(
      gid,
      committed as boolean,
      via === "HTTP" ? http : grpc,
      via === "HTTP" ? qpUrl : qpGrpcUrl,
    );
    await dtx.cron({ forwardMs: 20_000 });
    await dtx.cron();
    expect(await dtx.status(gid)).toBe(status);
    expect(summary(callsOf(rm, gid))).toEqual(committed ? [["TransIn", "action", "01"]] : []);
  });
});

describe("submit, prepare and abort", () => {
  test("a message submitted directly delivers every step, one after the other", async () => {
    const gid = freshGid("sdk-msg-direct");
    await http.msg({ gid }).add(rm.url("StepA"), { n: 1 }).add(rm.url("StepB"), "text").submit();
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("succeed");
    expect(callsOf(rm, gid).map((c) => [c.path, c.branchId, c.body.toString()])).toEqual([
      ["/api/busi/StepA", "01", '{"n":1}'],
      ["/api/busi/StepB", "02", "text"],
    ]);
  });

  test("a topic step is delivered to every subscriber of the topic", async () => {
    const topic = freshGid("sdk-topic");
    for (const name of ["SubA", "SubB"]) {
      const url = encodeURIComponent(rm.url(name));
      expect((await dtx.get(`/api/dtmsvr/subscribe?topic=${topic}&url=${url}&remark=`)).status).toBe(200);
    }
    const gid = freshGid("sdk-msg-topic");
    await http.msg({ gid }).addTopic(topic, IN).submit();
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("succeed");
    expect(summary(callsOf(rm, gid))).toEqual([
      ["SubA", "action", "01-01"],
      ["SubB", "action", "01-02"],
    ]);
  });

  test("delay and concurrent reach the coordinator", async () => {
    const gid = freshGid("sdk-msg-delay");
    await http
      .msg({ gid, delay: "10s", concurrent: true })
      .add(rm.url("StepA"))
      .add(rm.url("StepB"))
      .submit();
    const { transaction } = await dtx.query(gid);
    expect(JSON.parse(transaction.custom_data)).toEqual({ delay: 10 });
    expect(JSON.parse(transaction.options).concurrent).toBe(true);
    expect(await dtx.status(gid)).toBe("submitted");
    await dtx.cron({ forwardMs: 12_000 });
    expect(await dtx.status(gid)).toBe("succeed");
  });

  test("a prepared message that is aborted delivers nothing", async () => {
    const gid = freshGid("sdk-msg-abort");
    const msg = http.msg({ gid }).add(rm.url("TransIn"), IN);
    await msg.prepare(qpUrl);
    expect(await dtx.status(gid)).toBe("prepared");
    await msg.abort("the order was cancelled");
    expect(await dtx.status(gid)).toBe("failed");
    expect(callsOf(rm, gid)).toEqual([]);
  });

  test("a concurrent message cannot be sent over dtm's gRPC protocol", async () => {
    await expect(
      grpc.msg({ concurrent: true }).add(rm.grpcUrl("TransIn"), Uint8Array.of(1)).submit(),
    ).rejects.toThrow(/concurrent: dtm's gRPC protocol cannot carry/);
  });
});

/** A pool whose clients commit, then report the connection lost: the commit's answer never arrives. */
function commitAnswerLost(pool: Pool): Pool {
  return new Proxy(pool, {
    get(target, prop, receiver) {
      if (prop !== "connect") return Reflect.get(target, prop, receiver);
      return async () => {
        const client = await target.connect();
        return new Proxy(client, {
          get(c, p, r) {
            if (p !== "query") return Reflect.get(c, p, r);
            return async (text: unknown, ...rest: unknown[]) => {
              const res = await (c.query as (...a: unknown[]) => Promise<unknown>)(text, ...rest);
              if (text === "commit") throw new Error("connection lost after commit");
              return res;
            };
          },
        });
      };
    },
  });
}
