/**
 * The gRPC branch caller's connections against real grpc-js servers on loopback: what a branch sees
 * when its server limits concurrent streams, restarts, drains, sends large replies, or never accepts
 * the connection — each call's outcome as grpc-js's client reported it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { BranchRequest } from "../../src/core/branch-caller";
import { GrpcCaller, MAX_REPLY_BYTES } from "../../src/branch/grpc-caller";

type Handler = (body: Buffer) => Promise<Buffer> | Buffer;

/** A grpc-js server answering `/busi.Busi/Call` with `handler`, on 127.0.0.1 (port 0 unless given). */
async function startServer(
  handler: Handler,
  options: grpc.ServerOptions = {},
  port = 0,
): Promise<{ server: grpc.Server; port: number; calls: Buffer[] }> {
  const server = new grpc.Server(options);
  const calls: Buffer[] = [];
  const identity = (b: Buffer) => b;
  const unary: grpc.handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    calls.push(call.request);
    Promise.resolve(handler(call.request)).then(
      (reply) => callback(null, reply),
      (err: Error) => callback({ code: grpc.status.UNAVAILABLE, details: err.message }),
    );
  };
  server.register("/busi.Busi/Call", unary, identity, identity, "unary");
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, port: bound, calls };
}

function stop(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}

function request(port: number, extra: Partial<BranchRequest> = {}): BranchRequest {
  return {
    url: `127.0.0.1:${port}/busi.Busi/Call`,
    gid: "g-grpc-connection",
    transType: "saga",
    branchId: "01",
    op: "action",
    payload: Buffer.from([0x08, 0x01]),
    headers: {},
    timeoutMs: 5000,
    ...extra,
  };
}

/** A promise and its resolver: a handler waits on it until the test lets the reply go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

test("a burst on a fresh connection to a server that takes one stream at a time: every call succeeds", async () => {
  const { server, port, calls } = await startServer(
    () => new Promise((resolve) => setTimeout(() => resolve(Buffer.from([1])), 20)),
    { "grpc.max_concurrent_streams": 1 },
  );
  const caller = new GrpcCaller();
  try {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => caller.call(request(port, { payload: Buffer.from([i]) }))),
    );
    expect(results.map((r) => r.outcome)).toEqual(Array(6).fill("SUCCESS"));
    expect(calls.map((b) => b[0]).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  } finally {
    await caller.close();
    await stop(server);
  }
});

test("calls in flight when the server drains (GOAWAY) finish; later calls reach the server that replaced it", async () => {
  const held = gate();
  const first = await startServer(async () => {
    await held.opened;
    return Buffer.from([1]);
  });
  const caller = new GrpcCaller();
  try {
    const inFlight = [caller.call(request(first.port)), caller.call(request(first.port))];
    while (first.calls.length < 2) await new Promise((r) => setTimeout(r, 5));
    const drained = stop(first.server); // GOAWAY; the two calls may still answer
    held.open();
    expect((await Promise.all(inFlight)).map((r) => r.outcome)).toEqual(["SUCCESS", "SUCCESS"]);
    await drained;
    const second = await startServer(() => Buffer.from([2]), {}, first.port);
    try {
      const r = await caller.call(request(first.port));
      expect(r).toEqual({ outcome: "SUCCESS", detail: "", code: "OK" });
      expect(second.calls).toHaveLength(1);
    } finally {
      await stop(second.server);
    }
  } finally {
    await caller.close();
  }
});

test("a reply of 1 MiB is read whole (flow control); one above the 4 MiB limit is RESOURCE_EXHAUSTED", async () => {
  let size = 1024 * 1024;
  const { server, port } = await startServer(() => Buffer.alloc(size, 3), {
    "grpc.max_send_message_length": 8 * 1024 * 1024,
  });
  const caller = new GrpcCaller();
  try {
    expect((await caller.call(request(port))).outcome).toBe("SUCCESS");
    size = MAX_REPLY_BYTES + 1;
    const r = await caller.call(request(port));
    expect([r.outcome, r.code]).toEqual(["ERROR", "RESOURCE_EXHAUSTED"]);
    size = 10;
    expect((await caller.call(request(port))).outcome).toBe("SUCCESS"); // the connection still serves
  } finally {
    await caller.close();
    await stop(server);
  }
});

test("a target whose connection never completes is DEADLINE_EXCEEDED within the call's timeout", async () => {
  const { port, close } = await unacceptingListener();
  const caller = new GrpcCaller();
  try {
    const r = await caller.call(request(port, { timeoutMs: 300 }));
    expect([r.outcome, r.code]).toEqual(["ERROR", "DEADLINE_EXCEEDED"]);
  } finally {
    await caller.close();
    close();
  }
});

test("close() while a call is in flight: the call still gets its answer, later calls are refused", async () => {
  const held = gate();
  const { server, port } = await startServer(async () => {
    await held.opened;
    return Buffer.from([1]);
  });
  const caller = new GrpcCaller();
  try {
    const inFlight = caller.call(request(port));
    await new Promise((r) => setTimeout(r, 50));
    await caller.close();
    held.open();
    expect((await inFlight).outcome).toBe("SUCCESS");
    expect((await caller.call(request(port))).outcome).toBe("ERROR");
  } finally {
    await stop(server);
  }
});

/**
 * A loopback listener whose accept queue is full: a node process that listens with backlog 1 and then
 * blocks its thread (Atomics.wait: no CPU, never accepts), and a few connections that fill the queue.
 * A further connection waits for ever, as to a host that drops SYNs.
 */
async function unacceptingListener(): Promise<{ port: number; close: () => void }> {
  const script =
    'const s = require("node:net").createServer();' +
    's.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () =>' +
    "  process.stdout.write(`${s.address().port}\\n`, () =>" +
    "    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)));";
  const child: ChildProcess = spawn(process.execPath, ["-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
  });
  const fillers = Array.from({ length: 4 }, () => net.connect(port, "127.0.0.1").on("error", () => {}));
  return {
    port,
    close: () => {
      for (const f of fillers) f.destroy();
      child.kill();
    },
  };
}
