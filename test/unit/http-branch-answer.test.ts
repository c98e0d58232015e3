/**
 * How much of an HTTP branch's answer the caller reads: the first 64 KiB are classified (dtm's rules
 * look for ONGOING and FAILURE anywhere in them) and 512 characters are kept; the rest is drained
 * without being held, so a huge answer neither fills memory nor changes the outcome.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { TransportCaller } from "../../src/branch/transport-caller";

const KIB = 1024;
let server: http.Server;
let base: string;
/** What each route answers: status and body. */
const answers = new Map<string, { status: number; body: () => Buffer }>();
const caller = new TransportCaller();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url?.startsWith("/drip")) return drip(req, res);
    const a = answers.get(new URL(req.url ?? "/", "http://x").pathname)!;
    req.resume();
    res.writeHead(a.status, { "content-type": "text/plain" });
    res.end(a.body());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await caller.close();
  await new Promise((resolve) => server.close(resolve));
});

/** Answers 200 at once, then a byte of body every 50 ms until the caller goes away. */
function drip(req: http.IncomingMessage, res: http.ServerResponse): void {
  req.resume();
  res.writeHead(200, { "content-type": "text/plain" });
  const timer = setInterval(() => res.write("x"), 50);
  res.on("close", () => clearInterval(timer));
}

function call(path: string, timeoutMs = 5000) {
  return caller.call("http", {
    url: base + path,
    gid: "g",
    transType: "saga",
    branchId: "01",
    op: "action",
    payload: Buffer.from("{}"),
    headers: {},
    timeoutMs,
  });
}

test("FAILURE beyond the first 64 KiB of a 200 answer does not count: SUCCESS", async () => {
  answers.set("/late-failure", { status: 200, body: () => Buffer.from("x".repeat(100 * KIB) + "FAILURE") });
  const r = await call("/late-failure");
  expect(r.outcome).toBe("SUCCESS");
  expect(r.detail).toBe("x".repeat(512));
});

test("ONGOING within the first 64 KiB counts, however long the answer", async () => {
  answers.set("/ongoing", {
    status: 200,
    body: () =>
      Buffer.concat([Buffer.from("y".repeat(60 * KIB) + "ONGOING"), Buffer.alloc(4 * KIB * KIB, 32)]),
  });
  expect((await call("/ongoing")).outcome).toBe("ONGOING");
});

test("after a long answer the connection serves the next call", async () => {
  answers.set("/long", { status: 200, body: () => Buffer.alloc(2 * KIB * KIB, 120) });
  answers.set("/short", { status: 409, body: () => Buffer.from('{"dtm_result":"FAILURE"}') });
  expect((await call("/long")).outcome).toBe("SUCCESS");
  expect(await call("/short")).toEqual({
    outcome: "FAILURE",
    detail: '{"dtm_result":"FAILURE"}',
    code: "409",
  });
});

test("an answer whose body never ends is cut at the request timeout: ERROR naming it", async () => {
  // each byte comes well within the timeout: only the call's own deadline ends it
  const r = await call("/drip", 400);
  expect(r.outcome).toBe("ERROR");
  expect(r.detail).toMatch(/\/drip failed: no answer within 400 ms$/);
});
