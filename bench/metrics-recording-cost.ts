/**
 * `node dist/bench/metrics-recording-cost.js`: the CPU that recording the metrics of one saga of the
 * main workload costs, measured apart from everything else (a loaded machine swings throughput far
 * more than recording could). One saga of workload a records what the coordinator's hooks record for
 * it (src/server/metrics/): its API request (a counter and a histogram), its pass (the same), two
 * branch calls (the same each), its status change (a counter), and — counted as if each saga had its
 * own statements, though group commit shares them — two statements and two batches (a histogram each).
 * Prints the CPU per saga of 5 rounds of 200,000 sagas, in microseconds.
 */
import { DtxMetrics } from "../src/server/metrics/dtx-metrics";

const SAGAS = 200_000;
const ROUNDS = 5;

const m = new DtxMetrics({ dtx: "bench", grpc: "0.0.0" });

function recordOneSaga(): void {
  m.serverProcess.inc({ type: "http", api: "submit", status: "ok" });
  m.serverDuration.observe({ type: "http", api: "submit" }, 0.05);
  m.transactionProcess.inc({ model: "saga", status: "ok" });
  m.transactionHandled.observe({ model: "saga" }, 0.05);
  for (const branchid of ["01", "02"]) {
    m.branchProcess.inc({ model: "saga", branchid, branchtype: "action", status: "ok" });
    m.branchDuration.observe({ kind: "saga", op: "action", protocol: "http", outcome: "success" }, 0.003);
  }
  m.finished.inc({ kind: "saga", outcome: "succeed" });
  for (const statement of ["insertTrans", "savePass"]) {
    m.statementDuration.observe({ statement, outcome: "ok" }, 0.002);
    m.batchSize.observe({ statement }, 8);
  }
}

for (let round = 1; round <= ROUNDS; round++) {
  const start = process.cpuUsage();
  for (let i = 0; i < SAGAS; i++) recordOneSaga();
  const used = process.cpuUsage(start);
  const micros = (used.user + used.system) / SAGAS;
  console.log(`round ${round}: ${micros.toFixed(2)} µs CPU per saga's recordings`);
}
