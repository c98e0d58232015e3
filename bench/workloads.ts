/** The bench's workloads: which API a saga goes through and how. Shared by the bench and the load generator. */

/** Selects a workload in `BENCH_WORKLOADS`. */
export type WorkloadKey = "a" | "b" | "c" | "d" | "e" | "f" | "drain";

/** How the load generator submits a saga. */
export type SubmitApi = "dtm-http" | "dtm-grpc" | "native-rest" | "native-connect";

/** One workload. */
export interface Workload {
  key: WorkloadKey;
  /** The table's label. */
  label: string;
  api: SubmitApi;
  waitResult: boolean;
  /** How the coordinator calls the branches; "none": empty URLs, nothing is called. */
  branches: "http" | "grpc" | "none";
}

/** Every workload, in the order they run. All are 2-step sagas (4 branch operations, 2 actions called). */
export const WORKLOADS: readonly Workload[] = [
  { key: "a", label: "a: dtm HTTP, wait_result", api: "dtm-http", waitResult: true, branches: "http" },
  { key: "b", label: "b: dtm HTTP, async + drain", api: "dtm-http", waitResult: false, branches: "http" },
  { key: "c", label: "c: dtm HTTP, empty URLs", api: "dtm-http", waitResult: true, branches: "none" },
  { key: "d", label: "d: dtm gRPC, gRPC branches", api: "dtm-grpc", waitResult: true, branches: "grpc" },
  { key: "e", label: "e: native REST", api: "native-rest", waitResult: true, branches: "http" },
  { key: "f", label: "f: native Connect", api: "native-connect", waitResult: true, branches: "http" },
  // a backlog of due sagas drained by the recovery worker while submits like a's arrive (run-drain.ts)
  { key: "drain", label: "drain: backlog + submits", api: "dtm-http", waitResult: true, branches: "http" },
];

/** The workload the floor runs too, and the ratio is taken on. */
export const MAIN_WORKLOAD: WorkloadKey = "a";

/** The body of each HTTP saga step (dtm's bench transfers an amount). */
export const PAYLOAD = JSON.stringify({ amount: 30 });

/** The body of each gRPC saga step: dtm's busi `BusiReq{Amount: 30}` in protobuf encoding. */
export const GRPC_PAYLOAD = Buffer.from([0x08, 30]);

/** What the bench asks the load generator to run. */
export interface LoadJob {
  workload: WorkloadKey;
  /** The coordinator: `http://127.0.0.1:<port>`. */
  origin: string;
  /** The branch service's addresses. */
  branchHttp: string;
  branchGrpc: string;
  concurrency: number;
  durationMs: number;
  /** Each saga's gid is this prefix and a sequence number. */
  gidPrefix: string;
  /** Stop after this many submits. */
  count?: number;
  /** Submit at this steady rate (an open loop) instead of from `concurrency` closed-loop workers. */
  ratePerSec?: number;
  /** dtm HTTP only: the sagas' `retry_interval` (seconds) and `wait_result`, instead of the workload's. */
  retryIntervalSec?: number;
  waitResult?: boolean;
}

/** What a load job did. */
export interface LoadResult {
  ok: number;
  errors: number;
  elapsedMs: number;
  p50: number;
  p95: number;
  p99: number;
  errorSamples: string[];
  /** A paced job's successful submits: when each started (epoch ms) and its latency (ms), in order. */
  paced?: { startedAt: number[]; latenciesMs: number[] };
}
