/**
 * gRPC branches at an IPv6 address: `[::1]:port/busi.Busi/Method`, as gRPC's dial (and dtm) accept it.
 * The coordinator used to refuse such a URL as "neither an http(s) URL nor host:port/...".
 */
import * as grpc from "@grpc/grpc-js";
import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { TestCoordinator } from "../support/coordinator";

let dtx: TestCoordinator;
let dtm: Client<typeof Dtm>;
let server: grpc.Server;
let target: string;
const calls: Array<{ method: string; gid: string; op: string; body: string }> = [];

beforeAll(async () => {
  dtx = await TestCoordinator.start();
  dtm = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base }));
  server = new grpc.Server();
  const identity = (b: Buffer): Buffer => b;
  for (const method of ["TransOut", "TransIn", "TransOutRevert", "TransInRevert"]) {
    server.register(
      `/busi.Busi/${method}`,
      (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const meta = call.metadata.getMap();
        calls.push({
          method,
          gid: String(meta["dtm-gid"]),
          op: String(meta["dtm-op"]),
          body: call.request.toString("hex"),
        });
        callback(null, Buffer.alloc(0));
      },
      identity,
      identity,
      "unary",
    );
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("[::1]:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  target = `[::1]:${port}`;
});
afterAll(async () => {
  server?.forceShutdown();
  await dtx?.close();
});

test("a saga whose gRPC branches are at [::1]:port succeeds, each action called once with its payload", async () => {
  const gid = "grpc-ipv6-1";
  await dtm.submit({
    Gid: gid,
    TransType: "saga",
    Steps: JSON.stringify([
      { action: `${target}/busi.Busi/TransOut`, compensate: `${target}/busi.Busi/TransOutRevert` },
      { action: `${target}/busi.Busi/TransIn`, compensate: `${target}/busi.Busi/TransInRevert` },
    ]),
    BinPayloads: [Uint8Array.from([0x08, 0x1e, 0x10, 0x01]), Uint8Array.from([0x08, 0x1e, 0x10, 0x02])],
    TransOptions: { WaitResult: true },
  });
  const { transaction } = await dtx.query(gid);
  expect(transaction).toMatchObject({ gid, status: "succeed", protocol: "grpc" });
  expect(calls).toEqual([
    { method: "TransOut", gid, op: "action", body: "081e1001" },
    { method: "TransIn", gid, op: "action", body: "081e1002" },
  ]);
});

test("a malformed bracketed target is still refused, naming the field", async () => {
  await expect(
    dtm.submit({
      Gid: "grpc-ipv6-bad",
      TransType: "saga",
      Steps: JSON.stringify([{ action: "[::1:5000/busi.Busi/TransOut", compensate: "" }]),
      BinPayloads: [new Uint8Array()],
    }),
  ).rejects.toThrow(
    `Steps[0].action: "[::1:5000/busi.Busi/TransOut" is neither an http(s) URL nor host:port/package.Service/Method`,
  );
  const res = await dtx.get("/api/dtmsvr/query?gid=grpc-ipv6-bad");
  expect(res.body.transaction ?? null).toBeNull();
});
