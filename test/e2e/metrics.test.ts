/**
 * Prometheus metrics at /api/metrics: dtm's names and labels with the route name as `api`, dtx's own
 * metrics, `promtool check metrics` and `promtool check rules`, and a real Prometheus scraping a
 * coordinator under load (Debian's `prometheus` package; .ci/run installs it).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Dtm } from "../../gen/dtmgimp/dtmgimp_pb";
import { BranchServices } from "../support/branch-services";
import { TestCoordinator } from "../support/coordinator";
import { TestPrometheus } from "../support/prometheus";

jest.setTimeout(120_000);

const ROOT = join(__dirname, "..", "..");

let dtx: TestCoordinator;
let rm: BranchServices;

beforeAll(async () => {
  rm = await BranchServices.start();
  dtx = await TestCoordinator.start({ retry: { interval: 1000 }, metrics: { refreshInterval: 200 } });
});
afterAll(async () => {
  await dtx?.close();
  await rm?.close();
});

function saga(gid: string, extra: Record<string, unknown> = {}) {
  return {
    gid,
    trans_type: "saga",
    steps: [{ action: rm.url("TransOut"), compensate: rm.url("TransOutRevert") }],
    payloads: ['{"amount":30}'],
    ...extra,
  };
}

async function scrape(): Promise<string> {
  const res = await fetch(`${dtx.base}/api/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** A GET without following redirects, its body read. */
async function get(path: string): Promise<{ status: number }> {
  const res = await fetch(`${dtx.base}${path}`, { redirect: "manual" });
  await res.arrayBuffer();
  return { status: res.status };
}

/** The value of one series in a scrape (labels in the order they are written), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("dtm's metrics with the route's name as api, dtx's own, and promtool accepts the page", async () => {
  await dtx.post("/api/dtmsvr/submit", saga("metrics-ok", { wait_result: true }));
  rm.script("TransOut", "FAIL");
  await dtx.post("/api/dtmsvr/submit", saga("metrics-rollback", { wait_result: true }));
  expect((await dtx.get("/api/dtmsvr/query?gid=metrics-ok")).status).toBe(200);
  expect((await dtx.get("/api/dtmsvr/query?gid=no-such-gid-at-all")).status).toBe(200);
  expect((await dtx.get("/api/dtmsvr/nowhere/at-all")).status).toBe(404);
  const grpc = createClient(Dtm, createGrpcTransport({ baseUrl: dtx.base }));
  expect((await grpc.newGid({})).Gid).not.toBe("");
  // the OpenAPI document and the admin page (its redirects and files) have names of their own
  expect((await get("/api/openapi.json")).status).toBe(200);
  expect((await get("/")).status).toBe(302);
  expect((await get("/admin")).status).toBe(302);
  // 200 once `npm run build` wrote the page, 503 before: either way the page's route answered
  expect([200, 503]).toContain((await get("/admin/")).status);
  expect([404, 503]).toContain((await get("/admin/no-such-file-x1.js")).status);

  const text = await scrape();
  // one series per route whatever the query string; grpc calls by method name
  expect(sample(text, 'dtm_server_process_total{type="http",api="query",status="ok"}')).toBe(2);
  expect(sample(text, 'dtm_server_process_total{type="http",api="submit",status="ok"}')).toBe(1);
  // dtm answers a saga that rolled back while the client waited with 409 FAILURE
  expect(sample(text, 'dtm_server_process_total{type="http",api="submit",status="fail"}')).toBe(1);
  expect(sample(text, 'dtm_server_process_total{type="grpc",api="newgid",status="ok"}')).toBe(1);
  expect(sample(text, 'dtm_server_process_total{type="http",api="unknown",status="fail"}')).toBe(1);
  expect(sample(text, 'dtm_server_process_total{type="http",api="unknown",status="ok"}')).toBeUndefined();
  expect(sample(text, 'dtm_server_process_total{type="http",api="openapi",status="ok"}')).toBe(1);
  expect(
    (sample(text, 'dtm_server_process_total{type="http",api="admin-page",status="ok"}') ?? 0) +
      (sample(text, 'dtm_server_process_total{type="http",api="admin-page",status="fail"}') ?? 0),
  ).toBe(4);
  expect(text).not.toMatch(/gid=|metrics-ok|at-all|no-such-file/);
  expect(sample(text, 'dtm_server_response_duration_count{type="http",api="submit"}')).toBe(2);
  expect(sample(text, 'dtm_transaction_process_total{model="saga",status="ok"}')).toBe(2);
  expect(sample(text, 'dtm_transaction_handled_duration_count{model="saga"}')).toBe(2);
  expect(
    sample(text, 'dtm_branch_process_total{model="saga",branchid="01",branchtype="action",status="ok"}'),
  ).toBe(1);
  expect(
    sample(text, 'dtm_branch_process_total{model="saga",branchid="01",branchtype="action",status="fail"}'),
  ).toBe(1);
  expect(sample(text, 'dtx_transactions_finished_total{kind="saga",outcome="succeed"}')).toBe(1);
  expect(sample(text, 'dtx_transactions_finished_total{kind="saga",outcome="failed"}')).toBe(1);
  expect(
    sample(
      text,
      'dtx_branch_call_duration_seconds_count{kind="saga",op="compensate",protocol="http",outcome="success"}',
    ),
  ).toBe(1);
  expect(sample(text, 'dtx_store_batch_size_count{statement="insertTrans"}')).toBeGreaterThanOrEqual(1);
  expect(
    sample(text, 'dtx_store_statement_duration_seconds_count{statement="savePass",outcome="ok"}'),
  ).toBeGreaterThanOrEqual(2);
  expect(sample(text, "dtx_due_backlog")).toBe(0);
  expect(text).toMatch(/^dtm_server_info\{gin_version="",grpc_version="\d+\.\d+\.\d+"\} 1$/m);
  expect(text).toMatch(/^dtx_info\{version="v.+"\} 1$/m);
  expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
  expect(text).toMatch(/^# TYPE nodejs_gc_duration_seconds histogram$/m);

  // promtool exits non-zero on any problem and prints it
  execFileSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
});

test("process_cpu_seconds_total is the CPU the process used since it started, not since the first scrape", async () => {
  await scrape(); // whichever scrape comes first
  const usage = process.cpuUsage();
  const usedSeconds = (usage.user + usage.system) / 1e6;
  const text = await scrape();
  expect(sample(text, "process_cpu_seconds_total")).toBeGreaterThanOrEqual(usedSeconds);
  expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThanOrEqual(usage.user / 1e6);
});

test("the shipped alert rules and Prometheus config pass promtool", () => {
  const rules = execFileSync("promtool", ["check", "rules", join(ROOT, "deploy/prometheus/alerts.yml")], {
    encoding: "utf8",
  });
  expect(rules).toMatch(/SUCCESS: 4 rules found/);
  execFileSync("promtool", ["check", "config", join(ROOT, "deploy/prometheus/prometheus.yml")], {
    encoding: "utf8",
  });
});

test("a real Prometheus scrapes dtx under load: pass rate, due backlog, and every dashboard query", async () => {
  // a saga whose branch errs stays due once its retry interval has passed; nobody claims it (no recovery worker)
  rm.setDefault("Stuck", "ERR");
  const stuck = {
    ...saga("metrics-stuck"),
    steps: [{ action: rm.url("Stuck"), compensate: rm.url("TransOutRevert") }],
  };
  expect((await dtx.post("/api/dtmsvr/submit", stuck)).status).toBe(200);

  const prom = await TestPrometheus.start(`127.0.0.1:${dtx.app.ports[0]}`);
  let loading = true;
  let submitted = 0;
  const workers = Array.from({ length: 4 }, async (_, w) => {
    for (let i = 0; loading; i++) {
      await dtx.post("/api/dtmsvr/submit", saga(`metrics-load-${w}-${i}`, { wait_result: true }));
      submitted++;
    }
  });
  try {
    await prom.until(async () => {
      const [rate] = await prom.query(
        'sum(rate(dtm_transaction_process_total{model="saga",status="ok"}[5s]))',
      );
      return rate !== undefined && rate.value > 0;
    });
    await prom.until(async () => {
      const [due] = await prom.query('dtx_due_backlog{job="dtx"}');
      return due !== undefined && due.value === 1;
    });
    const [up] = await prom.query('up{job="dtx"}');
    expect(up!.value).toBe(1);
    const [stuckSaga] = await prom.query('dtx_transactions_unfinished{kind="saga",status="submitted"}');
    expect(stuckSaga!.value).toBeGreaterThanOrEqual(1); // the stuck one, and the load's running ones

    const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/grafana/dtx.json"), "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        const concrete = expr.replace(/\$__rate_interval/g, "1m").replace(/\$instance/g, ".*");
        // an invalid expression is a 400 from the query API, which query() throws with the expression
        expect(Array.isArray(await prom.query(concrete))).toBe(true);
      }
    }
    const [finished] = await prom.query(
      'sum(dtx_transactions_finished_total{kind="saga",outcome="succeed"})',
    );
    expect(finished!.value).toBeGreaterThan(0);
  } finally {
    loading = false;
    await Promise.all(workers);
    await prom.close();
  }
  expect(submitted).toBeGreaterThan(0);
});
