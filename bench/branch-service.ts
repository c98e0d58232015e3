import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { Server, ServerCredentials, type ServiceDefinition, type UntypedHandleCall } from "@grpc/grpc-js";

const ANSWER = JSON.stringify({ dtm_result: "SUCCESS" });
/** The answer during an outage (`setOutage(true)`): a 503, which a coordinator retries later. */
const OUTAGE_ANSWER = "branch service unavailable";

/** The gRPC methods the bench's sagas call (dtm's busi example names them the same way). */
export const GRPC_SERVICE = "busi.Busi";
const GRPC_METHODS = ["TransOut", "TransOutRevert", "TransIn", "TransInRevert"];

/**
 * The benchmark's branch service: answers every request with success (HTTP: 200
 * `{"dtm_result":"SUCCESS"}`; gRPC: OK with an empty message), counting the calls it received.
 */
export interface BranchService {
  /** HTTP: `http://127.0.0.1:<port>` */
  readonly httpBase: string;
  /** gRPC dial target: `127.0.0.1:<port>` (branch URLs are `<target>/busi.Busi/<Method>`). */
  readonly grpcTarget: string;
  /** Requests answered so far, both protocols. */
  readonly calls: () => number;
  /** While on, every HTTP request is answered 503 (an outage of the branches; not counted in `calls`). */
  setOutage(on: boolean): void;
  /**
   * Sagas whose gid starts with `prefix` whose last action (TransIn) was answered with success, and
   * when the last of them was (Date.now(); 0 for none). Tracking starts with the first call for the prefix.
   */
  finished(prefix: string): { count: number; lastAt: number };
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
}

const identity = (b: Buffer): Buffer => b;

/** Starts the branch service on 127.0.0.1, HTTP and gRPC each on a free port. */
export async function startBranchService(): Promise<BranchService> {
  let calls = 0;
  let outage = false;
  const tracked = new Map<string, { gids: Set<string>; lastAt: number }>();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      if (outage) {
        res.writeHead(503, { "content-length": Buffer.byteLength(OUTAGE_ANSWER) });
        res.end(OUTAGE_ANSWER);
        return;
      }
      calls++;
      if (tracked.size > 0 && req.url?.includes("/TransIn?")) track(req.url);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(ANSWER),
      });
      res.end(ANSWER);
    });
  });
  // the coordinator's keep-alive pool must not see its sockets closed under it during a run
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  // payloads stay raw bytes both ways: the service neither decodes requests nor encodes a reply message
  const grpc = new Server();
  const definition: Record<string, ServiceDefinition[string]> = {};
  const impl: Record<string, UntypedHandleCall> = {};
  for (const m of GRPC_METHODS) {
    definition[m] = {
      path: `/${GRPC_SERVICE}/${m}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    impl[m] = (_call: unknown, callback: (err: null, reply: Buffer) => void) => {
      calls++;
      callback(null, Buffer.alloc(0));
    };
  }
  grpc.addService(definition, impl);
  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpc.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );

  function track(url: string): void {
    const gid = new URL(url, "http://x").searchParams.get("gid") ?? "";
    for (const [prefix, t] of tracked) {
      if (gid.startsWith(prefix) && !t.gids.has(gid)) {
        t.gids.add(gid);
        t.lastAt = Date.now();
      }
    }
  }

  return {
    httpBase: `http://127.0.0.1:${port}`,
    grpcTarget: `127.0.0.1:${grpcPort}`,
    calls: () => calls,
    setOutage: (on) => {
      outage = on;
    },
    finished: (prefix) => {
      let t = tracked.get(prefix);
      if (!t) tracked.set(prefix, (t = { gids: new Set(), lastAt: 0 }));
      return { count: t.gids.size, lastAt: t.lastAt };
    },
    close: async () => {
      grpc.forceShutdown();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
