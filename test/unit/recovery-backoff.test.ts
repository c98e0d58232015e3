/**
 * The recovery worker leaves the room to submits: while admission control is saturated it claims
 * nothing, and it claims again once submits have room.
 */
import pino from "pino";
import type { Engine } from "../../src/core/engine";
import { RecoveryWorker } from "../../src/server/recovery-worker";

test("no claim while the submit path is saturated; claims again once it is not", async () => {
  let saturated = true;
  let looks = 0;
  const claims: number[] = [];
  const engine = {
    get saturated() {
      looks++;
      return saturated;
    },
    claimAndDrive: async (limit: number) => {
      claims.push(limit);
      return { gids: [], passes: [] };
    },
  } as unknown as Engine;
  const worker = new RecoveryWorker(
    engine,
    { pollIntervalMs: 5, batchSize: 8, concurrency: 8 },
    pino({ level: "silent" }),
  );
  try {
    while (looks < 10) await new Promise((r) => setTimeout(r, 5));
    expect(claims).toEqual([]);
    saturated = false;
    while (claims.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(claims[0]).toBe(8);
  } finally {
    await worker.close();
  }
});
