import { baseInterval, nextInterval } from "../../src/core/retry-policy";

const server = { intervalMs: 10_000, maxIntervalMs: 60_000 };

test("the base interval: the transaction's own, else a shorter timeout, else the server's", () => {
  expect(baseInterval(server, { retryIntervalMs: 150_000, timeoutToFailMs: 0 })).toBe(150_000);
  expect(baseInterval(server, { retryIntervalMs: 0, timeoutToFailMs: 4_000 })).toBe(4_000);
  expect(baseInterval(server, { retryIntervalMs: 0, timeoutToFailMs: 60_000 })).toBe(10_000);
  expect(baseInterval(server, { retryIntervalMs: 0, timeoutToFailMs: 0 })).toBe(10_000);
});

test("errors double the interval up to the cap, ONGOING keeps it, progress resets it", () => {
  const seq = (outcomes: Array<"error" | "ongoing" | "progress">, start = 10_000) =>
    outcomes.reduce((ms, o) => nextInterval(o, ms, 10_000, 60_000), start);
  expect(seq(["error"])).toBe(20_000);
  expect(seq(["error", "error", "error"])).toBe(60_000); // 80 s capped at 60 s
  expect(seq(["error", "ongoing"])).toBe(20_000);
  expect(seq(["error", "progress"])).toBe(10_000); // a later success resets, as dtm does per call
  expect(seq(["progress", "error"])).toBe(20_000);
  expect(seq(["ongoing"], 150_000)).toBe(150_000);
});

test("a base above the cap is never cut below the base", () => {
  expect(nextInterval("error", 300_000, 300_000, 60_000)).toBe(300_000);
});
