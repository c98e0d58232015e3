import { readdirSync, readFileSync } from "node:fs";
import { getPriority } from "node:os";
import { request } from "undici";
import { BranchServices } from "../support/branch-services";
import { createLogger } from "../../src/server/logger";
import { dropSchema, newSchemaName, TestCoordinator } from "../support/coordinator";
import { CoordinatorProcess } from "../support/coordinator-process";
import { transferBody } from "./saga-helpers";

// The recovery worker on a thread of its own (recovery.thread, Postgres only): the real entry point in a
// child process, since a thread loads the sources through the process's require hook, which jest's
// in-process coordinators do not have.
const url = process.env.DTX_TEST_DATABASE_URL ?? "";
const onPostgres = url ? describe : describe.skip;

let rm: BranchServices;
beforeAll(async () => {
  rm = await BranchServices.start();
});
afterAll(async () => {
  await rm?.close();
});

async function submit(base: string, gid: string): Promise<void> {
  const res = await request(`${base}/api/dtmsvr/submit`, {
    method: "POST",
    body: JSON.stringify(transferBody(rm, gid)),
  });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
}

async function until<T>(what: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The stored status of `gid`, through dtm's query route. */
async function status(base: string, gid: string): Promise<string | undefined> {
  const res = await request(`${base}/api/dtmsvr/query?gid=${gid}`);
  return ((await res.body.json()) as { transaction?: { status: string } }).transaction?.status;
}

/** The nice value jest runs at: a coordinator it starts inherits it. */
const ownNice = getPriority();

/** The nice value of each thread of process `pid`, by thread id (Linux's /proc). */
function niceByThread(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
    // after "pid (comm)": state is field 3, nice field 19
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    out.set(Number(tid), Number(fields[16]));
  }
  return out;
}

/** One sample's value in a Prometheus text scrape (0 when absent). */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

onPostgres("the recovery thread (Postgres)", () => {
  const schema = newSchemaName();
  let dtx: CoordinatorProcess;
  beforeAll(async () => {
    dtx = await CoordinatorProcess.start({
      DTX_STORE_URL: url,
      DTX_STORE_SCHEMA: schema,
      DTX_RETRY_INTERVAL: "300ms",
      DTX_RECOVERY_POLL_INTERVAL: "100ms",
    });
  });
  afterAll(async () => {
    await dtx?.kill().catch(() => undefined);
    await dropSchema(schema);
  });

  test("finishes a saga whose branch erred at the submit, and its log lines say it did", async () => {
    rm.script("TransIn", "ERR");
    await submit(dtx.base, "rt-1");
    await until(async () => ((await status(dtx.base, "rt-1")) === "succeed" ? true : undefined));
    const calls = rm.calls().filter((c) => c.gid === "rt-1");
    expect(calls.map((c) => c.path.split("/").pop())).toEqual(["TransOut", "TransIn", "TransIn"]);
    const finished = await until(() => dtx.logs.find((l) => l.gid === "rt-1" && l.to === "succeed"));
    expect(finished).toMatchObject({ from: "submitted", thread: "recovery", level: "info" });
    // the submit's own pass ran on the main thread: its failure line has no thread field
    const failure = dtx.logs.find((l) => l.gid === "rt-1" && l.level === "warn");
    expect(failure).toBeDefined();
    expect(failure!.thread).toBeUndefined();
  });

  test("/api/metrics adds the thread's counts to the main thread's, once per process", async () => {
    const res = await request(`${dtx.base}/api/metrics`);
    const text = await res.body.text();
    expect(res.statusCode).toBe(200);
    // rt-1 was finished by the thread: the main thread alone counted no finished saga
    expect(sample(text, 'dtx_transactions_finished_total{kind="saga",outcome="succeed"}')).toBe(1);
    expect(
      sample(
        text,
        'dtx_branch_call_duration_seconds_count{kind="saga",op="action",protocol="http",outcome="success"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(text, "dtx_processes")).toBe(1);
    // the process's own metrics stay out of the sum (prom-client's would drop the start time)
    expect(sample(text, "process_start_time_seconds")).toBeGreaterThan(1_700_000_000);
  });

  test("runs at recovery.nice 10 while the main thread keeps the process's priority", () => {
    const nice = niceByThread(dtx.child.pid!);
    const threads = [...nice.values()];
    const recovery = Math.min(19, ownNice + 10);
    expect(nice.get(dtx.child.pid!)).toBe(ownNice);
    expect(threads.filter((n) => n === recovery)).toHaveLength(recovery > ownNice ? 1 : threads.length);
  });

  test("recovery.nice is counted from the process's priority: under nice -n 12, the thread runs 10 below it, at most 19", async () => {
    const niced = await CoordinatorProcess.start(
      { DTX_STORE_URL: url, DTX_STORE_SCHEMA: schema, DTX_RECOVERY_POLL_INTERVAL: "100ms" },
      [],
      { nice: 12 },
    );
    try {
      const nice = niceByThread(niced.child.pid!);
      const threads = [...nice.values()];
      const main = Math.min(19, ownNice + 12);
      // 10 below the process's, stopped at the lowest priority (19 when jest runs at 0)
      const recovery = Math.min(19, main + 10);
      expect(nice.get(niced.child.pid!)).toBe(main);
      // one thread there, unless the process already runs at the lowest priority (then every thread does)
      expect(threads.filter((n) => n === recovery)).toHaveLength(recovery > main ? 1 : threads.length);
      // never raised above the process's own
      expect(threads.every((n) => n >= main)).toBe(true);
    } finally {
      await niced.stop();
    }
  });

  test("a force-stop stops the thread's pass: the step after the one in flight is never called", async () => {
    const gid = "rt-3";
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let s2Calls = 0;
    rm.script("S2", "ERR");
    // the first S2 (the submit's pass, on the main thread) errs; the retry, on the thread, waits here
    rm.onCall("S2", async () => {
      if (++s2Calls === 2) await released;
    });
    const res = await request(`${dtx.base}/api/dtmsvr/submit`, {
      method: "POST",
      body: JSON.stringify({
        gid,
        trans_type: "saga",
        steps: ["S1", "S2", "S3"].map((n) => ({ action: rm.url(n), compensate: rm.url(`${n}Revert`) })),
        payloads: ["{}", "{}", "{}"],
      }),
    });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    await until(() => (s2Calls === 2 ? true : undefined));
    const stop = await request(`${dtx.base}/v1/admin/transactions/${gid}:forceStop`, {
      method: "POST",
      body: "{}",
    });
    expect(stop.statusCode).toBe(200);
    await stop.body.dump();
    release();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await status(dtx.base, gid)).toBe("failed");
    const names = rm
      .calls()
      .filter((c) => c.gid === gid)
      .map((c) => c.path.split("/").pop());
    expect(names).toEqual(["S1", "S2", "S2"]);
  });

  test("a graceful stop ends the thread with the process: exit 0", async () => {
    expect(await dtx.stop()).toBe(0);
    expect(dtx.logs.some((l) => l.message === "dtx stopped")).toBe(true);
  });
});

onPostgres("recovery.thread false (Postgres)", () => {
  test("the worker runs on the main thread: no thread at another priority, no thread field", async () => {
    const schema = newSchemaName();
    const dtx = await CoordinatorProcess.start({
      DTX_STORE_URL: url,
      DTX_STORE_SCHEMA: schema,
      DTX_RETRY_INTERVAL: "300ms",
      DTX_RECOVERY_POLL_INTERVAL: "100ms",
      DTX_RECOVERY_THREAD: "false",
    });
    try {
      rm.script("TransIn", "ERR");
      await submit(dtx.base, "rt-2");
      const finished = await until(() => dtx.logs.find((l) => l.gid === "rt-2" && l.to === "succeed"));
      expect(finished.thread).toBeUndefined();
      expect([...niceByThread(dtx.child.pid!).values()].every((n) => n === ownNice)).toBe(true);
    } finally {
      await dtx.stop();
      await dropSchema(schema);
    }
  });
});

onPostgres("TypeScript sources without a require hook (an embedder under jest)", () => {
  test("recovery.thread falls back to the main thread, with a warning, and recovers", async () => {
    const lines: string[] = [];
    const dtx = await TestCoordinator.start(
      { recovery: { enabled: true, thread: true, pollInterval: 50 }, retry: { interval: 200 } },
      undefined,
      { logger: createLogger("warn", { write: (l: string) => void lines.push(l) }) },
    );
    try {
      rm.script("TransIn", "ERR");
      await submit(dtx.base, "rt-4");
      await until(async () => ((await dtx.status("rt-4")) === "succeed" ? true : undefined));
      expect(lines.some((l) => l.includes("recovery runs on the main thread"))).toBe(true);
    } finally {
      await dtx.close();
    }
  });
});
