import { Batcher } from "../../src/store/batcher";

/** A statement stand-in whose batches we can see and finish by hand. */
function recorder(fail?: (items: string[]) => boolean) {
  const batches: string[][] = [];
  const finish: Array<() => void> = [];
  const run = (items: string[]) =>
    new Promise<string[]>((resolve, reject) => {
      batches.push(items);
      finish.push(() =>
        fail?.(items) ? reject(new Error("bad item")) : resolve(items.map((i) => `done ${i}`)),
      );
    });
  return { batches, finish, run };
}

const tick = () => new Promise((r) => setImmediate(r));

test("a lone call runs at once; calls arriving meanwhile share the next batch", async () => {
  const r = recorder();
  const b = new Batcher(r.run, { maxInFlight: 1, maxBatch: 10 });
  const first = b.submit("a");
  expect(r.batches).toEqual([["a"]]);
  const rest = ["b", "c", "d"].map((i) => b.submit(i));
  expect(r.batches).toHaveLength(1); // waiting for the running batch
  r.finish[0]!();
  expect(await first).toBe("done a");
  await tick();
  expect(r.batches[1]).toEqual(["b", "c", "d"]);
  r.finish[1]!();
  expect(await Promise.all(rest)).toEqual(["done b", "done c", "done d"]);
});

test("batches respect maxBatch and never carry one key twice", async () => {
  const r = recorder();
  const b = new Batcher(r.run, { maxInFlight: 1, maxBatch: 2, key: (s: string) => s[0]! });
  const all = [b.submit("a1"), b.submit("a2"), b.submit("b1"), b.submit("c1")];
  r.finish[0]!(); // [a1]
  await tick();
  expect(r.batches[1]).toEqual(["a2", "b1"]);
  r.finish[1]!();
  await tick();
  expect(r.batches[2]).toEqual(["c1"]);
  r.finish[2]!();
  expect(await Promise.all(all)).toEqual(["done a1", "done a2", "done b1", "done c1"]);
});

test("a failing batch is retried item by item, so only the bad item fails", async () => {
  const r = recorder((items) => items.includes("bad"));
  const b = new Batcher(r.run, { maxInFlight: 1, maxBatch: 10 });
  const first = b.submit("x");
  const good = b.submit("good");
  const bad = b.submit("bad");
  r.finish[0]!();
  await first;
  await tick();
  r.finish[1]!(); // the batch [good, bad] fails
  await tick();
  r.finish[2]!();
  r.finish[3]!();
  expect(await good).toBe("done good");
  await expect(bad).rejects.toThrow("bad item");
});

test("with gatherTick, calls made in one turn of the event loop share the first batch", async () => {
  const r = recorder();
  const b = new Batcher(r.run, { maxInFlight: 1, maxBatch: 10, gatherTick: true });
  const all = ["a", "b", "c"].map((i) => b.submit(i));
  expect(r.batches).toHaveLength(0); // gathered until the turn ends
  await tick();
  expect(r.batches).toEqual([["a", "b", "c"]]);
  const later = b.submit("d"); // while the batch runs
  r.finish[0]!();
  expect(await Promise.all(all)).toEqual(["done a", "done b", "done c"]);
  await tick();
  expect(r.batches[1]).toEqual(["d"]);
  r.finish[1]!();
  expect(await later).toBe("done d");
});
