/**
 * Every limit answers: a body over server.maxBodyBytes gets 413 with dtm's envelope even while the
 * client is still sending it (read to the end, not a reset), a head over server.maxHeaderBytes 431,
 * too deep a JSON, a NUL in a string and a payload over limits.maxPayloadBytes 400 naming the limit
 * or the field — and nothing is written.
 */
import { connect, type Socket } from "node:net";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";

const MAX_BODY = 64 * 1024;
const MAX_HEADER = 4096;
const MAX_PAYLOAD = 1024;

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  dtx = await TestCoordinator.start({
    server: { maxBodyBytes: MAX_BODY, maxHeaderBytes: MAX_HEADER },
    limits: { maxPayloadBytes: MAX_PAYLOAD },
  });
  rm = await BranchServices.start();
});
afterAll(async () => {
  await rm?.close();
  await dtx?.close();
}, 20_000);

/** A raw HTTP/1.1 exchange: writes `head` then `body` in 64 KiB chunks, reads until the server closes or answers. */
async function exchange(head: string, body: Buffer): Promise<{ answer: string; writeError: string | null }> {
  const socket: Socket = connect(new URL(dtx.base).port as unknown as number, "127.0.0.1");
  let answer = "";
  let writeError: string | null = null;
  socket.on("data", (d) => (answer += d.toString("latin1")));
  socket.on("error", (err) => (writeError = `${(err as NodeJS.ErrnoException).code}`));
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  const write = (chunk: Buffer | string) =>
    new Promise<void>((resolve) => socket.write(chunk, (err) => (err ? resolve() : resolve())));
  await write(head);
  for (let i = 0; i < body.length && writeError === null; i += 65536)
    await write(body.subarray(i, i + 65536));
  // the whole answer: its length is known once the head is in
  await new Promise<void>((resolve) => {
    const done = () => {
      const split = answer.indexOf("\r\n\r\n");
      const length = /content-length: (\d+)/i.exec(answer)?.[1];
      if (split >= 0 && length && answer.length >= split + 4 + Number(length)) resolve();
      else if (socket.destroyed) resolve();
    };
    socket.on("data", done);
    socket.on("close", done);
    done();
  });
  socket.destroy();
  return { answer, writeError };
}

function parse(answer: string): { status: number; body: any } {
  const split = answer.indexOf("\r\n\r\n");
  return { status: Number(answer.split(" ")[1]), body: JSON.parse(answer.slice(split + 4)) };
}

async function rows(): Promise<number> {
  return (await dtx.get("/api/dtmsvr/all?limit=1000")).body.transactions.length;
}

function saga(gid: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    gid,
    trans_type: "saga",
    steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
    payloads: ['{"amount":1}'],
    ...over,
  };
}

test("a 5 MB body is answered 413 with dtm's envelope after the client sent all of it (no EPIPE)", async () => {
  const before = await rows();
  const body = Buffer.alloc(5 * 1024 * 1024, "x");
  for (const framing of ["content-length", "chunked"]) {
    const head =
      "POST /api/dtmsvr/submit HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
      (framing === "chunked"
        ? "transfer-encoding: chunked\r\n\r\n"
        : `content-length: ${body.length}\r\n\r\n`);
    const payload =
      framing === "chunked"
        ? Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")])
        : body;
    const { answer, writeError } = await exchange(head, payload);
    expect(writeError).toBeNull();
    const res = parse(answer);
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      dtm_result: "FAILURE",
      message: `body: is larger than the limit of ${MAX_BODY} bytes. FAILURE`,
    });
  }
  expect(await rows()).toBe(before);
  // and the server goes on serving
  expect(await dtx.post("/api/dtmsvr/submit", saga("l-after-big", { wait_result: true }))).toEqual({
    status: 200,
    body: { dtm_result: "SUCCESS" },
  });
});

test("a request head over server.maxHeaderBytes → 431 naming the limit", async () => {
  const head = `GET /api/ping HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(MAX_HEADER * 2)}\r\n\r\n`;
  const res = parse((await exchange(head, Buffer.alloc(0))).answer);
  expect(res.status).toBe(431);
  expect(res.body.message).toBe(`headers: are larger than the limit of ${MAX_HEADER} bytes`);
});

test("a request Node cannot parse → 400 with a JSON message", async () => {
  const res = parse(
    (await exchange("POST /api/ping HTTP/1.1\r\ncontent-length: x\r\n\r\n", Buffer.alloc(0))).answer,
  );
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/^request: is not valid HTTP\/1.1/);
});

test("JSON nested deeper than 64 levels → 400 naming the limit, on every JSON face", async () => {
  const before = await rows();
  const deep = (n: number): unknown => (n === 0 ? 1 : [deep(n - 1)]);
  const submit = await dtx.post("/api/dtmsvr/submit", saga("l-deep", { extra: deep(100) }));
  expect(submit.status).toBe(400);
  expect(submit.body.message).toContain("deeper than the limit of 64 levels");
  const rest = await dtx.post("/v1/sagas", { gid: "l-deep2", saga: { steps: [] }, x: deep(100) });
  expect(rest.status).toBe(400);
  const rpc = await dtx.post("/api/json-rpc", {
    jsonrpc: "2.0",
    id: 1,
    method: "submit",
    params: saga("l-deep3", { x: deep(100) }),
  });
  expect(rpc.status).toBe(400);
  expect(JSON.stringify(rpc.body)).toContain("deeper than the limit of 64 levels");
  expect(await rows()).toBe(before);
});

test.each([
  { over: { gid: "l-nul\u0000" }, field: "gid" },
  { over: { custom_data: '{"a":"\\u0000"}' }, field: "custom_data" },
  { over: { steps: [{ action: "http://127.0.0.1:1/a\u0000", compensate: "" }] }, field: "steps" },
  { over: { query_prepared: "http://x/\u0000" }, field: "query_prepared" },
])("a NUL in $field → 400 naming it, nothing written", async ({ over, field }) => {
  const before = await rows();
  const res = await dtx.post("/api/dtmsvr/submit", saga("l-nul", over));
  expect(res.status).toBe(400);
  expect(res.body.message).toContain(field);
  expect(await rows()).toBe(before);
});

test("a payload over limits.maxPayloadBytes → 400 naming the limit, nothing written", async () => {
  const before = await rows();
  const res = await dtx.post(
    "/api/dtmsvr/submit",
    saga("l-payload", { payloads: ["x".repeat(MAX_PAYLOAD + 1)] }),
  );
  expect(res.status).toBe(400);
  expect(res.body.message).toContain(`larger than the limit of ${MAX_PAYLOAD} bytes`);
  expect(res.body.message).toContain("payloads");
  expect(await rows()).toBe(before);
  expect((await dtx.query("l-payload")).transaction).toBeNull();
});
