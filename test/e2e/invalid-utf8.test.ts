/**
 * A gid whose bytes are not UTF-8 is refused (400 / INVALID_ARGUMENT) and nothing is written: decoded
 * leniently it would be stored with replacement characters under a gid the client never sent.
 */
import { toBinary, create } from "@bufbuild/protobuf";
import * as grpcjs from "@grpc/grpc-js";
import { Client as HttpClient } from "undici";
import { DtmRequestSchema } from "../../gen/dtmgimp/dtmgimp_pb";
import { SubmitSagaRequestSchema } from "../../gen/dtx/v1/coordinator_pb";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
beforeAll(async () => {
  dtx = await TestCoordinator.start();
});
afterAll(async () => {
  await dtx?.close();
});

/** `text` as UTF-8 with every `#` replaced by the byte 0xff, which UTF-8 never contains. */
function withBadByte(text: string | Uint8Array): Buffer {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x23) bytes[i] = 0xff;
  return bytes;
}

/** Every stored transaction's gid. */
async function storedGids(): Promise<string[]> {
  const { body } = await dtx.get("/api/dtmsvr/all?limit=1000");
  return body.transactions.map((t: { gid: string }) => t.gid);
}

async function post(path: string, body: Buffer): Promise<{ status: number; body: any }> {
  const client = new HttpClient(dtx.base);
  try {
    const res = await client.request({
      path,
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    return { status: res.statusCode, body: JSON.parse(await res.body.text()) };
  } finally {
    await client.destroy();
  }
}

function unary(path: string, message: Buffer): Promise<grpcjs.ServiceError | null> {
  const client = new grpcjs.Client(dtx.grpcTarget, grpcjs.credentials.createInsecure());
  const id = (b: Buffer): Buffer => b;
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, id, id, message, (err) => {
      client.close();
      resolve(err);
    });
  });
}

const sagaJson = JSON.stringify({
  gid: "utf8-#-http",
  trans_type: "saga",
  steps: [{ action: "", compensate: "" }],
  payloads: [""],
  wait_result: true,
});

test("dtm HTTP submit → 400, nothing stored", async () => {
  const res = await post("/api/dtmsvr/submit", withBadByte(sagaJson));
  expect(res.status).toBe(400);
  expect(res.body).toEqual({ dtm_result: "FAILURE", message: expect.stringContaining("UTF-8") });
  expect(await storedGids()).toEqual([]);
});

test("native REST POST /v1/sagas → 400, nothing stored", async () => {
  const body = JSON.stringify({ gid: "utf8-#-rest", saga: { steps: [{ action: "" }] } });
  const res = await post("/v1/sagas", withBadByte(body));
  expect(res.status).toBe(400);
  expect(res.body.message).toContain("UTF-8");
  expect(await storedGids()).toEqual([]);
});

test("dtm gRPC Submit with U+FFFD in Gid (what a lenient decoder makes of bad bytes) → INVALID_ARGUMENT naming Gid", async () => {
  const req = create(DtmRequestSchema, {
    Gid: "utf8-\ufffd-dtm-grpc",
    TransType: "saga",
    Steps: JSON.stringify([{ action: "", compensate: "" }]),
    BinPayloads: [new Uint8Array()],
  });
  const err = await unary("/dtmgimp.Dtm/Submit", Buffer.from(toBinary(DtmRequestSchema, req)));
  expect(err?.code).toBe(grpcjs.status.INVALID_ARGUMENT);
  expect(err?.details).toContain("Gid");
  expect(await storedGids()).toEqual([]);
});

test("native gRPC SubmitSaga with U+FFFD in gid → INVALID_ARGUMENT naming gid", async () => {
  const req = create(SubmitSagaRequestSchema, {
    gid: "utf8-\ufffd-native",
    saga: { steps: [{ action: "" }] },
  });
  const err = await unary(
    "/dtx.v1.CoordinatorService/SubmitSaga",
    Buffer.from(toBinary(SubmitSagaRequestSchema, req)),
  );
  expect(err?.code).toBe(grpcjs.status.INVALID_ARGUMENT);
  expect(err?.details).toContain("gid");
  expect(await storedGids()).toEqual([]);
});

test("native gRPC SubmitSaga with bad bytes: the protobuf decoder refuses the message, nothing stored", async () => {
  const req = create(SubmitSagaRequestSchema, { gid: "utf8-#-native", saga: { steps: [{ action: "" }] } });
  const err = await unary(
    "/dtx.v1.CoordinatorService/SubmitSaga",
    withBadByte(toBinary(SubmitSagaRequestSchema, req)),
  );
  expect(err?.details).toMatch(/utf-8/i);
  expect(await storedGids()).toEqual([]);
});
