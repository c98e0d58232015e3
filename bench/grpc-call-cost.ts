/**
 * `node dist/bench/grpc-call-cost.js`: the CPU one gRPC branch call costs the coordinator's caller
 * (src/branch/grpc-caller.ts), measured apart from everything else. A grpc-js server answering OK runs
 * in a child process; this process makes 64 concurrent calls in a loop, as the coordinator does under
 * workload d, and prints its own CPU per call (user + system) over 64,000 calls after 6,400 of warm-up.
 */
import { fork } from "node:child_process";
import * as grpc from "@grpc/grpc-js";
import { GrpcCaller } from "../src/branch/grpc-caller";
import type { BranchRequest } from "../src/core/branch-caller";

const CONCURRENCY = 64;
const CALLS = 64_000;

function serve(): void {
  const server = new grpc.Server();
  const bytes = (b: Buffer): Buffer => b;
  const answer: grpc.handleUnaryCall<Buffer, Buffer> = (_call, cb) => cb(null, Buffer.alloc(0));
  server.register("/busi.Busi/TransOut", answer, bytes, bytes, "unary");
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.send!(port);
  });
}

async function measure(): Promise<void> {
  const child = fork(__filename, ["serve"]);
  const port = await new Promise<number>((resolve) => child.once("message", (p) => resolve(p as number)));
  const caller = new GrpcCaller();
  const req: BranchRequest = {
    url: `127.0.0.1:${port}/busi.Busi/TransOut`,
    gid: "g-grpc-call-cost",
    transType: "saga",
    branchId: "01",
    op: "action",
    payload: Buffer.from([0x08, 0x1e]),
    headers: {},
    timeoutMs: 3000,
  };
  const run = (calls: number) =>
    Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = 0; i < calls / CONCURRENCY; i++) {
          const r = await caller.call(req);
          if (r.outcome !== "SUCCESS") throw new Error(`${r.code}: ${r.detail}`);
        }
      }),
    );
  try {
    await run(CALLS / 10);
    const before = process.cpuUsage();
    const started = performance.now();
    await run(CALLS);
    const used = process.cpuUsage(before);
    const seconds = (performance.now() - started) / 1000;
    const perCall = (used.user + used.system) / CALLS;
    console.log(`${perCall.toFixed(1)} µs CPU per call, ${(CALLS / seconds).toFixed(0)} calls/s`);
  } finally {
    await caller.close();
    child.kill();
  }
}

if (process.argv[2] === "serve") serve();
else
  measure().catch((err) => {
    console.error(err);
    process.exit(1);
  });
