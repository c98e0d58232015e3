import * as http from "node:http";
import type { AddressInfo } from "node:net";

const ANSWER = JSON.stringify({ dtm_result: "SUCCESS" });

/** The benchmark's branch service: answers every request 200 SUCCESS, counting the calls it received. */
export interface BranchService {
  /** `http://127.0.0.1:<port>` */
  readonly base: string;
  /** Requests answered so far. */
  readonly calls: () => number;
  /** Stops listening and drops idle keep-alive connections. */
  close(): Promise<void>;
}

/** Starts the branch service on 127.0.0.1 port 0. */
export async function startBranchService(): Promise<BranchService> {
  let calls = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      calls++;
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
  return {
    base: `http://127.0.0.1:${port}`,
    calls: () => calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
