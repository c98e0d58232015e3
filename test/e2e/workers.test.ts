import pg from "pg";
import { execFileSync } from "node:child_process";
import { BranchServices } from "../support/branch-services";
import { CoordinatorProcess } from "../support/coordinator-process";
import { newSchemaName } from "../support/coordinator";
import { onOwnConnection } from "../support/own-connection";
import { transferBody } from "./saga-helpers";

// server.workers: 2 coordinator processes sharing one port and one Postgres schema (node:cluster).
// The embedded store cannot be shared, so this needs Postgres (the config refusal is in config.test.ts).
const url = process.env.DTX_TEST_DATABASE_URL ?? "";
const schema = newSchemaName();
let rm: BranchServices;
let primary: CoordinatorProcess | undefined;

const maybe = url ? describe : describe.skip;

beforeAll(async () => {
  rm = await BranchServices.start();
});
afterAll(async () => {
  await primary?.kill();
  await rm?.close();
  if (url) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`drop schema if exists "${schema}" cascade`);
    await c.end();
  }
});

/** Waits (polling) for a log line of the supervisor or a worker that `match` accepts. */
async function logLine(match: (l: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  const lines = primary!.logs;
  for (let i = 0; i < 1800; i++) {
    const found = lines.find(match);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no such log line; got ${JSON.stringify(lines)}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Submits a saga (by default waiting for its result), on a connection of its own (so any worker may serve it). */
function submit(port: number, gid: string, body = transferBody(rm, gid, { wait_result: true })) {
  return onOwnConnection(port, {
    path: "/api/dtmsvr/submit",
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function statusOf(port: number, gid: string): Promise<string> {
  const res = await onOwnConnection(port, { path: `/api/dtmsvr/query?gid=${gid}`, method: "GET" });
  const body = JSON.parse(res.body) as { transaction?: { status?: string } };
  return body.transaction?.status ?? "";
}

/** The value of one series in a scrape (labels in the order they are written), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

maybe("server.workers on Postgres", () => {
  afterEach(() => rm.onCall("TransOut", async () => undefined)); // a test's held calls end with it

  test("two workers serve one port; a killed worker is replaced; SIGTERM stops them all", async () => {
    // resolves on the first worker's "dtx started"; the supervisor's line lists every worker
    primary = await CoordinatorProcess.start({
      DTX_SERVER_WORKERS: "2",
      DTX_STORE_URL: url,
      DTX_STORE_SCHEMA: schema,
    });
    const started = await logLine((l) => l.message === "dtx started" && Array.isArray(l.workers));
    const workers = started.workers as number[];
    const port = (started.ports as number[])[0]!;
    expect(workers).toHaveLength(2);
    expect(new Set([...workers, primary.child.pid]).size).toBe(3);
    expect(workers.every(alive)).toBe(true);

    const gids = Array.from({ length: 10 }, (_, i) => `workers-${schema}-${i}`);
    const answers = await Promise.all(gids.map((g) => submit(port, g)));
    expect(answers.map((a) => a.status)).toEqual(gids.map(() => 200));
    for (const g of gids) expect(await statusOf(port, g)).toBe("succeed");

    // a worker crashes: the other keeps serving the port, and the primary starts a replacement
    process.kill(workers[0]!, "SIGKILL");
    // (a connection handed to the worker in the instant of its death would be lost with it)
    await logLine((l) => l.message === "worker died; starting another" && l.pid === workers[0]);
    const after = Array.from({ length: 5 }, (_, i) => `workers-${schema}-after-${i}`);
    for (const g of after) expect((await submit(port, g)).status).toBe(200);
    for (const g of after) expect(await statusOf(port, g)).toBe("succeed");
    const replaced = await logLine((l) => l.message === "worker replaced");
    const fresh = replaced.pid as number;
    expect(workers).not.toContain(fresh);
    expect(alive(fresh)).toBe(true);
    expect(
      rm
        .callsTo("TransIn")
        .map((c) => c.gid)
        .sort(),
    ).toEqual([...gids, ...after].sort());

    expect(await primary.stop()).toBe(0);
    expect(alive(workers[1]!)).toBe(false);
    expect(alive(fresh)).toBe(false);
  }, 300_000);

  test("a scrape on any worker sums every worker's counts and reports the store gauges once", async () => {
    primary = await CoordinatorProcess.start({
      DTX_SERVER_WORKERS: "2",
      DTX_STORE_URL: url,
      DTX_STORE_SCHEMA: schema,
      DTX_METRICS_REFRESH_INTERVAL: "100ms",
    });
    const started = await logLine((l) => l.message === "dtx started" && Array.isArray(l.workers));
    const port = (started.ports as number[])[0]!;
    // a saga whose branch keeps erring stays unfinished: one row in the store, whatever the workers
    rm.setDefault("Stuck", "ERR");
    const stuck = transferBody(rm, `metrics-${schema}-stuck`);
    stuck.steps = [{ action: rm.url("Stuck"), compensate: rm.url("TransOutRevert") }];
    stuck.payloads = ['{"amount":30}'];
    expect((await submit(port, stuck.gid, stuck)).status).toBe(200);
    // each on a connection of its own: the primary deals them out to the two workers in turn
    const gids = Array.from({ length: 20 }, (_, i) => `metrics-${schema}-${i}`);
    for (const g of gids) expect((await submit(port, g)).status).toBe(200);

    // every scrape, whichever worker takes it, answers the same sums
    for (let i = 0; i < 6; i++) {
      const scrape = await onOwnConnection(port, { path: "/api/metrics", method: "GET" });
      expect(scrape.status).toBe(200);
      const text = scrape.body;
      expect(sample(text, "dtx_processes")).toBe(2);
      expect(sample(text, 'dtm_transaction_process_total{model="saga",status="ok"}')).toBe(gids.length);
      expect(sample(text, 'dtx_transactions_finished_total{kind="saga",outcome="succeed"}')).toBe(
        gids.length,
      );
      expect(sample(text, 'dtm_server_process_total{type="http",api="submit",status="ok"}')).toBe(
        gids.length + 1,
      );
      expect(sample(text, 'dtm_transaction_handled_duration_count{model="saga"}')).toBeGreaterThanOrEqual(
        gids.length,
      );
      expect(sample(text, 'dtx_transactions_unfinished{kind="saga",status="submitted"}')).toBe(1);
      expect(text).toMatch(/^dtm_server_info\{gin_version="",grpc_version="[\d.]+"\} 1$/m);
      execFileSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    }
    expect(await primary.stop()).toBe(0);
  }, 300_000);

  test("Ctrl-C at a terminal (SIGINT to the whole process group) stops the workers gracefully", async () => {
    primary = await CoordinatorProcess.start(
      { DTX_SERVER_WORKERS: "2", DTX_STORE_URL: url, DTX_STORE_SCHEMA: schema },
      [],
      { group: true },
    );
    const started = await logLine((l) => l.message === "dtx started" && Array.isArray(l.workers));
    const port = (started.ports as number[])[0]!;
    // a saga whose first branch call is held until the workers were told to stop
    let called!: () => void;
    const calledOnce = new Promise<void>((r) => (called = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    rm.onCall("TransOut", async () => {
      called();
      await gate;
    });
    const gid = `workers-${schema}-ctrl-c`;
    const answer = submit(port, gid);
    await calledOnce;
    // the terminal signals every process of the foreground group: the supervisor and each worker
    process.kill(-primary.child.pid!, "SIGINT");
    const stopping = () => primary!.logs.filter((l) => l.message === "stopping").length;
    while (stopping() < 2) await new Promise((r) => setTimeout(r, 50));
    open();
    expect((await answer).status).toBe(200);
    expect(await primary.exitCode()).toBe(0);
    expect(primary.logs.filter((l) => String(l.message).startsWith("stopping at once"))).toEqual([]);
    expect(rm.callsTo("TransIn").map((c) => c.gid)).toContain(gid);
  }, 300_000);

  test("a second SIGTERM to the supervisor stops the workers at once, exit 1", async () => {
    primary = await CoordinatorProcess.start({
      DTX_SERVER_WORKERS: "2",
      DTX_STORE_URL: url,
      DTX_STORE_SCHEMA: schema,
    });
    const started = await logLine((l) => l.message === "dtx started" && Array.isArray(l.workers));
    const port = (started.ports as number[])[0]!;
    let called!: () => void;
    const calledOnce = new Promise<void>((r) => (called = r));
    rm.onCall("TransOut", async () => {
      called();
      await new Promise(() => undefined); // held until the services close
    });
    const answer = submit(port, `workers-${schema}-twice`).catch((err: Error) => err);
    await calledOnce;
    primary.child.kill("SIGTERM");
    const stopping = () => primary!.logs.filter((l) => l.message === "stopping").length;
    while (stopping() < 2) await new Promise((r) => setTimeout(r, 50));
    primary.child.kill("SIGTERM");
    expect(await primary.exitCode()).toBe(1);
    // (the idle worker may have finished its graceful stop before the second signal)
    const cut = primary.logs.filter((l) => String(l.message).startsWith("stopping at once"));
    expect(cut.length).toBeGreaterThanOrEqual(1);
    expect(await answer).toBeInstanceOf(Error); // the held request was cut
  }, 300_000);
});
