/**
 * The SDK's XA on Postgres prepared transactions (scenarios 32–34 of §10.3 through the SDK): an
 * application runs `dtx.xa`, a resource manager (`XaResource` behind `httpBranchRoutes`) prepares
 * its local transaction and the coordinator commits or rolls it back; repeats, a rollback before
 * its action, and a crash of the resource manager between prepare and commit. PGlite has no
 * prepared transactions: there the tests are skipped, and the one that runs checks the refusal.
 */
import type { AddressInfo } from "node:net";
import { createServer, type Server } from "node:http";
import type { ClientBase } from "pg";
import pg from "pg";
import { request } from "undici";
import { credit, debit } from "../../examples/bank/accounts";
import { prepareBankDb } from "../../examples/bank/db";
import {
  Coordinator,
  httpBranchRoutes,
  isBranchFailure,
  XaResource,
  type HttpBranchCall,
} from "../../src/client";
import { TestCoordinator } from "../support/coordinator";
import { openTestDb, type TestDb } from "../support/test-db";
import { freshGid } from "../e2e/saga-helpers";
import { SKIP, pgTest, pgliteTest } from "../support/prepared-transactions";

let dtx: TestCoordinator;
let http: Coordinator;
let grpc: Coordinator;
let db: TestDb;
let table: string;
let rm: ResourceManager;

/** The bank's XA resource manager: XaTransOut debits, XaTransIn credits, on one port across restarts. */
class ResourceManager {
  readonly calls: Array<{ op: string; branchId: string; gid: string }> = [];
  private server?: Server;
  private pool?: pg.Pool;
  port = 0;

  async start(): Promise<void> {
    // a pool of its own, as a process of its own would have
    this.pool = db.kind === "postgres" ? newPool(db.schema) : db.pool;
    const xa = new XaResource(this.pool, { table });
    const move =
      (fn: (tx: ClientBase, user: string, amount: number) => Promise<void>) => (call: HttpBranchCall) => {
        this.calls.push({ op: call.ctx.op, branchId: call.ctx.branchId, gid: call.ctx.gid });
        return xa.handle(call.ctx, (tx) => {
          const { user, amount } = call.json<{ user: string; amount: number }>(); // phase 2 has no body
          return fn(tx, user, amount);
        });
      };
    const server = createServer(httpBranchRoutes({ "/XaTransOut": move(debit), "/XaTransIn": move(credit) }));
    await new Promise<void>((r) => server.listen(this.port, "127.0.0.1", r));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Stops serving and drops its connections, as a crash would (prepared transactions stay). */
  async crash(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
    if (this.pool !== db.pool) await this.pool?.end();
  }

  url(op: string): string {
    return `http://127.0.0.1:${this.port}/${op}`;
  }

  callsOf(gid: string): string[] {
    return this.calls.filter((c) => c.gid === gid).map((c) => `${c.branchId}:${c.op}`);
  }
}

function newPool(schema: string): pg.Pool {
  return new pg.Pool({
    connectionString: process.env.DTX_TEST_DATABASE_URL,
    max: 4,
    options: `-c search_path=${schema}`,
  });
}

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  http = Coordinator.http(dtx.base);
  grpc = Coordinator.grpc(dtx.grpcTarget);
  db = await openTestDb();
  table = db.kind === "postgres" ? `${db.schema}.barrier` : "dtm_barrier.barrier";
  await prepareBankDb(db.pool, {}, table);
  rm = new ResourceManager();
  await rm.start();
});
afterAll(async () => {
  await rm?.crash();
  await rollbackLeftovers(); // a failed test must not leave locks behind on a shared server
  await http?.close();
  await grpc?.close();
  await db?.close();
  await dtx?.close();
});

let accountSeq = 0;
/** Two fresh accounts with 100 each. */
async function accounts(): Promise<[string, string]> {
  const a = `a${++accountSeq}`;
  const b = `b${accountSeq}`;
  await db.pool.query("insert into account (name, balance) values ($1, 100), ($2, 100)", [a, b]);
  return [a, b];
}

async function balances(...names: string[]): Promise<number[]> {
  const res = await db.pool.query<{ name: string; balance: string }>(
    "select name, balance from account where name = any($1)",
    [names],
  );
  const by = new Map(res.rows.map((r) => [r.name, Number(r.balance)]));
  return names.map((n) => by.get(n)!);
}

/** The prepared transactions of `gid` still waiting for phase 2. */
async function prepared(gid: string): Promise<string[]> {
  const res = await db.pool.query<{ gid: string }>(
    "select gid from pg_prepared_xacts where gid like $1 order by gid",
    [`${gid}-%`],
  );
  return res.rows.map((r) => r.gid);
}

/** Rolls back what a failed test left prepared. */
async function rollbackLeftovers(): Promise<void> {
  if (db?.kind !== "postgres") return;
  for (const gid of new Set(rm.calls.map((c) => c.gid))) {
    for (const id of await prepared(gid)) await db.pool.query(`rollback prepared '${id}'`);
  }
}

/** POSTs to a branch URL with the query parameters a coordinator or an application sends. */
async function callRm(op: string, params: Record<string, string>, body = ""): Promise<number> {
  const url = new URL(rm.url(op));
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await request(url, { method: "POST", body });
  await res.body.text();
  return res.statusCode;
}

const transfer = (from: string, to: string, amount: number) => async (xa: import("../../src/client").Xa) => {
  await xa.callBranch(rm.url("XaTransOut"), { user: from, amount });
  await xa.callBranch(rm.url("XaTransIn"), { user: to, amount });
};

pgTest(`32: both branches prepare, the coordinator commits them → succeed, money moved ${SKIP}`, async () => {
  const [a, b] = await accounts();
  const { gid } = await http.xa(transfer(a, b, 30), { waitResult: true });
  expect(await dtx.status(gid)).toBe("succeed");
  expect(await dtx.branchVector(gid)).toEqual(["P", "S", "P", "S"]);
  expect(await balances(a, b)).toEqual([70, 130]);
  expect(await prepared(gid)).toEqual([]);
  expect(rm.callsOf(gid)).toEqual(["01:action", "02:action", "01:commit", "02:commit"]);
});

pgTest(
  `32 over gRPC: the branches register with the gRPC coordinator they are told about ${SKIP}`,
  async () => {
    const [a, b] = await accounts();
    const { gid } = await grpc.xa(transfer(a, b, 5), { waitResult: true });
    expect(await dtx.status(gid)).toBe("succeed");
    expect(await balances(a, b)).toEqual([95, 105]);
    expect(await prepared(gid)).toEqual([]);
  },
);

pgTest(
  `33: the second branch fails for good → abort, branch 1 rolled back, nothing moved ${SKIP}`,
  async () => {
    const [a] = await accounts();
    const err = await http.xa(transfer(a, "nobody", 30), { waitResult: true }).catch((e: unknown) => e);
    expect(isBranchFailure(err)).toBe(true);
    expect((err as Error).message).toContain("no account nobody");
    const gid = rm.calls.at(-1)!.gid;
    expect(await dtx.status(gid)).toBe("failed");
    expect(await dtx.branchVector(gid)).toEqual(["S", "P"]); // one branch registered: rolled back
    expect(await balances(a)).toEqual([100]);
    expect(await prepared(gid)).toEqual([]);
    expect(rm.callsOf(gid)).toEqual(["01:action", "02:action", "01:rollback"]);
  },
);

pgTest(
  `34: the application throws after branch 1 → its error rethrown, branch 1 rolled back ${SKIP}`,
  async () => {
    const [a] = await accounts();
    let gid = "";
    const err = await http
      .xa(async (xa) => {
        gid = xa.gid;
        await xa.callBranch(rm.url("XaTransOut"), { user: a, amount: 40 });
        throw new Error("the application changed its mind");
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe("the application changed its mind");
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("failed");
    expect(await balances(a)).toEqual([100]);
    expect(await prepared(gid)).toEqual([]);
  },
);

pgTest(
  `repeats: an action while prepared, a commit, an action and a rollback after commit do nothing ${SKIP}`,
  async () => {
    const [a, b] = await accounts();
    const { gid } = await http.xa(
      async (xa) => {
        await transfer(a, b, 10)(xa);
        // the same action again while its transaction is prepared: answered OK, nothing runs
        const again = { gid: xa.gid, trans_type: "xa", branch_id: "01", op: "action", dtm: http.address };
        expect(
          await callRm(
            "XaTransOut",
            { ...again, phase2_url: rm.url("XaTransOut") },
            `{"user":"${a}","amount":10}`,
          ),
        ).toBe(200);
        expect(await prepared(xa.gid)).toEqual([`${xa.gid}-01`, `${xa.gid}-02`]);
      },
      { waitResult: true },
    );
    expect(await balances(a, b)).toEqual([90, 110]);
    const key = { gid, trans_type: "xa", branch_id: "01" };
    expect(await callRm("XaTransOut", { ...key, op: "commit" })).toBe(200);
    expect(
      await callRm(
        "XaTransOut",
        { ...key, op: "action", dtm: http.address, phase2_url: rm.url("XaTransOut") },
        `{"user":"${a}","amount":10}`,
      ),
    ).toBe(200);
    // a rollback after the commit cannot undo it: refused (500), the coordinator would never send it
    expect(await callRm("XaTransOut", { ...key, op: "rollback" })).toBe(500);
    expect(await balances(a, b)).toEqual([90, 110]);
    expect(await dtx.status(gid)).toBe("succeed");
  },
);

pgTest(
  `a rollback before its action (hanging) is recorded; the late action fails without running ${SKIP}`,
  async () => {
    const [a] = await accounts();
    const gid = freshGid("xa-hanging");
    const key = { gid, trans_type: "xa", branch_id: "01" };
    expect(await callRm("XaTransOut", { ...key, op: "rollback" })).toBe(200);
    expect(await callRm("XaTransOut", { ...key, op: "rollback" })).toBe(200); // repeated
    const late = { ...key, op: "action", dtm: http.address, phase2_url: rm.url("XaTransOut") };
    expect(await callRm("XaTransOut", late, `{"user":"${a}","amount":10}`)).toBe(409);
    expect(await balances(a)).toEqual([100]);
    expect(await prepared(gid)).toEqual([]);
  },
);

pgTest(
  `a crash of the resource manager between prepare and commit: the commit lands after its restart ${SKIP}`,
  async () => {
    const [a, b] = await accounts();
    const { gid } = await http.xa(async (xa) => {
      await transfer(a, b, 25)(xa);
      await rm.crash(); // both branches prepared and registered; the process goes away before phase 2
    });
    await dtx.settled(gid);
    expect(await dtx.status(gid)).toBe("submitted"); // the commit found nobody listening
    expect(await prepared(gid)).toEqual([`${gid}-01`, `${gid}-02`]); // kept by Postgres
    expect(await balances(a, b)).toEqual([100, 100]);

    await rm.start(); // the same port, a fresh pool
    await dtx.cron({ lookAheadMs: 1_000_000 });
    expect(await dtx.status(gid)).toBe("succeed");
    expect(await balances(a, b)).toEqual([75, 125]);
    expect(await prepared(gid)).toEqual([]);
    // a commit delivered again changes nothing
    expect(await callRm("XaTransIn", { gid, trans_type: "xa", branch_id: "02", op: "commit" })).toBe(200);
    expect(await balances(a, b)).toEqual([75, 125]);
  },
);

pgliteTest("XA on PGlite: the action fails for good, naming max_prepared_transactions", async () => {
  const [a, b] = await accounts();
  const err = await http.xa(transfer(a, b, 30)).catch((e: unknown) => e);
  expect(isBranchFailure(err)).toBe(true);
  expect((err as Error).message).toContain("max_prepared_transactions > 0");
  expect(await balances(a, b)).toEqual([100, 100]);
});

test("an action without its phase2_url is refused before anything runs", async () => {
  const [a] = await accounts();
  const params = {
    gid: freshGid("xa-bad"),
    trans_type: "xa",
    branch_id: "01",
    op: "action",
    dtm: http.address,
  };
  expect(await callRm("XaTransOut", params, `{"user":"${a}","amount":10}`)).toBe(409);
  expect(await balances(a)).toEqual([100]);
});
