import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Store } from "../../src/store/store";
import { findTrans } from "../../src/store/trans-statements";
import { BranchServices } from "../support/branch-services";
import { newSchemaName, TestCoordinator } from "../support/coordinator";

let rm: BranchServices;
beforeAll(async () => {
  rm = await BranchServices.start();
});
afterAll(async () => {
  await rm?.close();
});

function saga(gid: string) {
  return {
    gid,
    trans_type: "saga",
    steps: [
      { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
      { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
    ],
    payloads: ['{"amount":1}', '{"amount":1}'],
  };
}

async function until(what: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await what())) {
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

const fastRecovery = {
  recovery: { enabled: true, pollInterval: 50, lease: 2000 },
  retry: { interval: 200 },
};

test("the recovery worker finishes an ONGOING saga by itself", async () => {
  const dtx = await TestCoordinator.start(fastRecovery);
  try {
    rm.script("TransOut", "ONG");
    expect((await dtx.post("/api/dtmsvr/submit", saga("rw-1"))).status).toBe(200);
    await until(async () => (await dtx.status("rw-1")) === "succeed");
    const calls = rm.calls().filter((c) => c.gid === "rw-1");
    expect(calls.map((c) => c.path.split("/").pop())).toEqual(["TransOut", "TransOut", "TransIn"]);
  } finally {
    await dtx.close();
  }
});

const onPostgres = process.env.DTX_TEST_DATABASE_URL ? describe : describe.skip;
onPostgres("two coordinators on one database (Postgres: PGlite is single-process)", () => {
  test("share the due transactions and never drive one twice at a time", async () => {
    const schema = newSchemaName();
    const a = await TestCoordinator.start(fastRecovery, schema);
    const b = await TestCoordinator.start(fastRecovery, schema);
    try {
      const gids = Array.from({ length: 20 }, (_, i) => `mc-${i}`);
      // phase 1: every TransOut answers ONGOING, so all 20 sagas stay unfinished and become due
      rm.setDefault("TransOut", "ONG");
      for (const g of gids) {
        expect((await a.post("/api/dtmsvr/submit", { ...saga(g), retry_interval: 1 })).status).toBe(200);
      }
      await a.settled();
      // phase 2: both recovery workers race for them
      const from = rm.calls().length;
      rm.setDefault("TransOut", "OK");
      await until(async () => {
        const statuses = await Promise.all(gids.map((g) => b.status(g)));
        return statuses.every((s) => s === "succeed");
      }, 20_000);
      const after = rm.calls().slice(from);
      for (const g of gids) {
        // exactly one successful pass per saga: no transaction was driven by both at once
        const names = after.filter((c) => c.gid === g).map((c) => c.path.split("/").pop());
        expect(names).toEqual(["TransOut", "TransIn"]);
      }
    } finally {
      await b.app.close();
      await a.close();
    }
  }, 30_000);
});

onPostgres("a duplicate submit to another coordinator (Postgres)", () => {
  test("leaves a saga alone while a live lease elsewhere drives it", async () => {
    const schema = newSchemaName();
    const a = await TestCoordinator.start({ branch: { requestTimeout: 5000 } }, schema);
    const b = await TestCoordinator.start({}, schema);
    try {
      rm.script("TransIn", "HANG");
      expect((await a.post("/api/dtmsvr/submit", saga("dup-1"))).status).toBe(200);
      await until(async () => rm.calls().some((c) => c.gid === "dup-1" && c.path.endsWith("TransIn")));
      const before = rm.calls().length;
      // b may not take over a's live lease: it answers 200 and calls nothing
      expect(await b.post("/api/dtmsvr/submit", saga("dup-1"))).toEqual({
        status: 200,
        body: { dtm_result: "SUCCESS" },
      });
      expect(rm.calls().length).toBe(before);
      await a.settled("dup-1"); // TransIn times out after 5 s; a writes the pass
      expect(await a.status("dup-1")).toBe("submitted");
      // the lease is free now: a duplicate submit re-drives it to the end
      expect((await b.post("/api/dtmsvr/submit", { ...saga("dup-1"), wait_result: true })).status).toBe(200);
      expect(await b.status("dup-1")).toBe("succeed");
    } finally {
      await b.app.close();
      await a.close();
    }
  }, 20_000);
});

test("a graceful stop hands back the lease of a pass that does not finish in time", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "dtx-stop-"));
  const schema = newSchemaName();
  const store = { dataDir, schema: process.env.DTX_TEST_DATABASE_URL ? schema : "public" };
  const dtx = await TestCoordinator.start(
    { store, branch: { requestTimeout: 30_000 }, server: { shutdownTimeout: 300 } },
    schema,
  );
  try {
    rm.script("TransIn", "HANG");
    expect((await dtx.post("/api/dtmsvr/submit", saga("stop-1"))).status).toBe(200);
    await until(async () => rm.calls().some((c) => c.gid === "stop-1" && c.path.endsWith("TransIn")));
    const started = Date.now();
    await dtx.app.close();
    expect(Date.now() - started).toBeLessThan(5000);
    const reopened = await Store.open({ ...dtx.app.config.store });
    try {
      const t = await findTrans(reopened.sql, "stop-1");
      expect(t?.status).toBe("submitted"); // acknowledged, not lost, not finished
      expect(t!.nextCronTime!.getTime()).toBeLessThanOrEqual(Date.now() + 1000); // due again now
    } finally {
      if (reopened.kind === "postgres") await reopened.db.query(`drop schema "${schema}" cascade`);
      await reopened.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

// A backlog left by an outage of a branch drains through the recovery worker once dtm's resetCronTime
// makes it due: every saga succeeds with each action called once, passes run side by side up to
// recovery.concurrency and never two of one saga at a time, also with two coordinators sharing it.
// claims of at most 4, 6 passes at once: a backlog of 40 takes many claims; the hour-long poll
// interval means only resetCronTime's wake-up starts the drain
const recovery = { recovery: { enabled: true, pollInterval: 3_600_000, batchSize: 4, concurrency: 6 } };
const BACKLOG = 40;

async function drainBacklog(coordinators: TestCoordinator[], prefix: string): Promise<void> {
  const [first] = coordinators as [TestCoordinator];
  const gids = Array.from({ length: BACKLOG }, (_, i) => `${prefix}-${i}`);
  rm.setDefault("TransOut", { status: 503, body: "bank is down" });
  try {
    // an hour: only resetCronTime makes the backlog due within the test
    for (const g of gids) {
      expect((await first.post("/api/dtmsvr/submit", { ...saga(g), retry_interval: 3600 })).status).toBe(200);
    }
    await first.settled();
    for (const g of gids) expect(await first.status(g)).toBe("submitted");
  } finally {
    rm.setDefault("TransOut", "OK");
  }

  // a pass's branch calls run one after the other: calls in flight at once are passes at once
  let inFlight = 0;
  let maxInFlight = 0;
  const perGid = new Map<string, number>();
  let sameSagaTwice = false;
  const track = async (call: { gid: string }) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    perGid.set(call.gid, (perGid.get(call.gid) ?? 0) + 1);
    if (perGid.get(call.gid)! > 1) sameSagaTwice = true;
    await new Promise((r) => setTimeout(r, 5));
    perGid.set(call.gid, perGid.get(call.gid)! - 1);
    inFlight--;
  };
  rm.onCall("TransOut", track);
  rm.onCall("TransIn", track);
  const from = rm.calls().length;
  try {
    const reset = await first.get("/api/dtmsvr/resetCronTime?timeout=60&limit=1000");
    expect(reset.body).toEqual({ has_remaining: false, succeed_count: BACKLOG });
    await until(async () => {
      for (const g of gids) if ((await first.status(g)) !== "succeed") return false;
      return true;
    }, 60_000);
  } finally {
    rm.onCall("TransOut", async () => undefined);
    rm.onCall("TransIn", async () => undefined);
  }
  const after = rm.calls().slice(from);
  for (const g of gids) {
    expect(after.filter((c) => c.gid === g).map((c) => c.path.split("/").pop())).toEqual([
      "TransOut",
      "TransIn",
    ]);
  }
  expect(sameSagaTwice).toBe(false);
  expect(maxInFlight).toBeLessThanOrEqual(6 * coordinators.length);
}

test("a backlog larger than a claim drains once resetCronTime makes it due, each action called once", async () => {
  const dtx = await TestCoordinator.start(recovery);
  try {
    await drainBacklog([dtx], "drain-one");
  } finally {
    await dtx.close();
  }
}, 90_000);

const onPostgresTest = process.env.DTX_TEST_DATABASE_URL ? test : test.skip;
onPostgresTest(
  "two coordinators on one database drain one backlog between them, no saga driven twice",
  async () => {
    const schema = newSchemaName();
    // resetCronTime wakes the worker of the coordinator it was sent to; the other one polls
    const polling = { recovery: { ...recovery.recovery, pollInterval: 50 } };
    const a = await TestCoordinator.start(recovery, schema);
    const b = await TestCoordinator.start(polling, schema);
    try {
      await drainBacklog([a, b], "drain-two");
    } finally {
      await a.close();
      await b.close();
    }
  },
  90_000,
);

onPostgresTest(
  "two coordinators on one database each run passes of one backlog: more at once than one may run",
  async () => {
    const schema = newSchemaName();
    // 4 passes at most per coordinator; b finds the backlog by polling, a is woken by resetCronTime
    const slots = { enabled: true, batchSize: 4, concurrency: 4 };
    const a = await TestCoordinator.start({ recovery: { ...slots, pollInterval: 3_600_000 } }, schema);
    const b = await TestCoordinator.start({ recovery: { ...slots, pollInterval: 50 } }, schema);
    try {
      const claimed = new Map<TestCoordinator, number>([
        [a, 0],
        [b, 0],
      ]);
      for (const c of [a, b]) {
        c.app.store.onStatement((e) => {
          if (e.name === "claimDue") claimed.set(c, claimed.get(c)! + e.rows);
        });
      }
      const gids = Array.from({ length: 24 }, (_, i) => `share-${i}`);
      rm.setDefault("TransOut", { status: 503, body: "bank is down" });
      try {
        for (const g of gids) {
          expect((await a.post("/api/dtmsvr/submit", { ...saga(g), retry_interval: 3600 })).status).toBe(200);
        }
        await a.settled();
      } finally {
        rm.setDefault("TransOut", "OK");
      }
      // every TransIn waits until 8 are in flight: 8 passes at once, 4 of them on each coordinator
      let waiting = 0;
      let open!: () => void;
      const gate = new Promise<void>((r) => (open = r));
      rm.onCall("TransIn", async () => {
        if (++waiting === 8) open();
        await gate;
      });
      const from = rm.calls().length;
      try {
        expect((await a.get("/api/dtmsvr/resetCronTime?timeout=60&limit=1000")).body).toEqual({
          has_remaining: false,
          succeed_count: gids.length,
        });
        await until(async () => {
          for (const g of gids) if ((await b.status(g)) !== "succeed") return false;
          return true;
        }, 60_000);
      } finally {
        open();
        rm.onCall("TransIn", async () => undefined);
      }
      const after = rm.calls().slice(from);
      for (const g of gids) {
        const names = after.filter((c) => c.gid === g).map((c) => c.path.split("/").pop());
        expect(names).toEqual(["TransOut", "TransIn"]);
      }
      expect(claimed.get(a)! + claimed.get(b)!).toBe(gids.length);
      expect(claimed.get(a)).toBeGreaterThanOrEqual(4);
      expect(claimed.get(b)).toBeGreaterThanOrEqual(4);
    } finally {
      await b.app.close();
      await a.close();
    }
  },
  90_000,
);
