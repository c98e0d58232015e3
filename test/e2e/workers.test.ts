import pg from "pg";
import { Client } from "undici";
import { BranchServices } from "../support/branch-services";
import { CoordinatorProcess } from "../support/coordinator-process";
import { newSchemaName } from "../support/coordinator";

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

/** Submits a 2-step saga waiting for its result, on a connection of its own (so any worker may serve it). */
async function submit(port: number, gid: string): Promise<{ status: number; body: string }> {
  const client = new Client(`http://127.0.0.1:${port}`);
  try {
    const res = await client.request({
      path: "/api/dtmsvr/submit",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        gid,
        trans_type: "saga",
        wait_result: true,
        steps: [
          { action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") },
          { action: rm.url("TransIn"), compensate: rm.url("TransInRevert") },
        ],
        payloads: ['{"amount":30}', '{"amount":30}'],
      }),
    });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await client.close();
  }
}

async function statusOf(port: number, gid: string): Promise<string> {
  const client = new Client(`http://127.0.0.1:${port}`);
  try {
    const res = await client.request({ path: `/api/dtmsvr/query?gid=${gid}`, method: "GET" });
    const body = (await res.body.json()) as { transaction?: { status?: string } };
    return body.transaction?.status ?? "";
  } finally {
    await client.close();
  }
}

maybe("server.workers on Postgres", () => {
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
});
