import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Dtm, DtmRequestSchema } from "../../gen/dtmgimp/dtmgimp_pb";
import { TestCoordinator } from "../support/coordinator";

// Each API names a bad field the way its own request spells it.
let dtx: TestCoordinator;
beforeAll(async () => {
  dtx = await TestCoordinator.start();
});
afterAll(async () => {
  await dtx?.close();
});

test("the native REST API names saga fields as the request spells them", async () => {
  const res = await dtx.post("/v1/sagas", {
    saga: { steps: [{ action: "ftp://x/a", compensate: "" }] },
    options: { requestTimeout: "3000000s" },
  });
  expect(res.status).toBe(400);
  expect(res.body.message).toMatch(/^options\.request_timeout: /);
  const bad = await dtx.post("/v1/sagas", { saga: { steps: [{ action: "ftp://x/a" }] } });
  expect(bad.status).toBe(400);
  expect(bad.body.message).toMatch(/^saga\.steps\[0\]\.action: "ftp:\/\/x\/a" is not an http\(s\) URL$/);
});

test("dtm's gRPC API names DtmRequest fields", async () => {
  const client = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base }));
  const err = await client
    .submit(create(DtmRequestSchema, { Gid: "fn-1", TransType: "saga", Steps: "[]" }))
    .then(
      () => null,
      (e: unknown) => ConnectError.from(e),
    );
  expect(err?.code).toBe(Code.InvalidArgument);
  expect(err?.rawMessage).toMatch(/^Steps: a saga needs at least one step$/);
  const unknown = await client.submit(create(DtmRequestSchema, { Gid: "fn-2", TransType: "sagaa" })).then(
    () => null,
    (e: unknown) => ConnectError.from(e),
  );
  expect(unknown?.rawMessage).toMatch(/^TransType: unknown transaction type "sagaa"$/);
});
