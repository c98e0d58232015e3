/**
 * How the recovery worker claims from a backlog: each claim sized to the free slots, the next one made
 * once half the slots are free while the other passes still run, never more passes than slots.
 */
import pino from "pino";
import type { Engine } from "../../src/core/engine";
import { RecoveryWorker } from "../../src/server/recovery-worker";

/** A fake engine with `backlog` due transactions whose passes end when the test says so. */
function backlogEngine(backlog: number) {
  const ends: Array<() => void> = [];
  const claims: Array<{ limit: number; got: number; runningThen: number }> = [];
  let left = backlog;
  let running = 0;
  let maxRunning = 0;
  const engine = {
    saturated: false,
    claimAndDrive: async (limit: number) => {
      const got = Math.min(limit, left);
      left -= got;
      claims.push({ limit, got, runningThen: running });
      const passes = Array.from({ length: got }, () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        return new Promise<void>((resolve) =>
          ends.push(() => {
            running--;
            resolve();
          }),
        );
      });
      return { gids: [], passes };
    },
  } as unknown as Engine;
  return {
    engine,
    claims,
    /** Ends the `n` oldest running passes. */
    end: (n: number) => ends.splice(0, n).forEach((f) => f()),
    get running() {
      return running;
    },
    get maxRunning() {
      return maxRunning;
    },
  };
}

function startWorker(engine: Engine, batchSize: number, concurrency: number): RecoveryWorker {
  // an hour-long poll: only the claims' own rhythm (and wake()) makes the worker claim
  return new RecoveryWorker(
    engine,
    { pollIntervalMs: 3_600_000, batchSize, concurrency },
    pino({ level: "silent" }),
  );
}

async function until(what: () => boolean): Promise<void> {
  while (!what()) await new Promise((r) => setTimeout(r, 2));
}

test("the next claim comes when half the slots are free, while the other half still runs", async () => {
  const e = backlogEngine(100);
  const worker = startWorker(e.engine, 8, 8);
  try {
    await until(() => e.claims.length === 1);
    expect(e.claims[0]).toEqual({ limit: 8, got: 8, runningThen: 0 });
    // three passes end: too few free slots for a claim of its own
    e.end(3);
    await until(() => e.running === 5);
    e.end(1);
    await until(() => e.claims.length === 2);
    // the second claim takes the four free slots while four passes still run
    expect(e.claims[1]).toEqual({ limit: 4, got: 4, runningThen: 4 });
    expect(e.running).toBe(8);
  } finally {
    e.end(Infinity);
    await worker.close();
  }
});

test("a backlog larger than a claim drains completely, never more passes than slots", async () => {
  const e = backlogEngine(50);
  const worker = startWorker(e.engine, 6, 10);
  try {
    // passes end one by one, as branch calls answer
    while (e.claims.reduce((n, c) => n + c.got, 0) < 50 || e.running > 0) {
      await until(() => e.running > 0 || e.claims.reduce((n, c) => n + c.got, 0) === 50);
      e.end(1);
      await new Promise((r) => setImmediate(r));
    }
    expect(e.claims.reduce((n, c) => n + c.got, 0)).toBe(50);
    expect(e.maxRunning).toBeLessThanOrEqual(10);
    // claims are capped by batchSize, and every claim but the first overlapped running passes
    expect(Math.max(...e.claims.map((c) => c.limit))).toBe(6);
    expect(e.claims.slice(1, -1).every((c) => c.runningThen > 0)).toBe(true);
    // the backlog ran dry: the last claim got fewer than it asked for, and the worker went to sleep
    const last = e.claims[e.claims.length - 1]!;
    expect(last.got).toBeLessThan(last.limit);
  } finally {
    e.end(Infinity);
    await worker.close();
  }
});

test("wake() ends the idle sleep: transactions made due are claimed at once", async () => {
  const e = backlogEngine(0);
  const worker = startWorker(e.engine, 8, 8);
  try {
    await until(() => e.claims.length === 1);
    worker.wake();
    await until(() => e.claims.length === 2);
    expect(e.claims[1]!.limit).toBe(8);
  } finally {
    await worker.close();
  }
});
