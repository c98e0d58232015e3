import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A real Prometheus server (Debian's `prometheus`, installed by .ci/run) on a loopback port, for tests. */
export class TestPrometheus {
  private constructor(
    readonly base: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly output: () => string,
  ) {}

  /** Starts Prometheus scraping `/api/metrics` of `target` (`127.0.0.1:<port>`) every second. */
  static async start(target: string): Promise<TestPrometheus> {
    const dir = mkdtempSync(join(tmpdir(), "dtx-prom-"));
    writeFileSync(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: dtx",
        "    metrics_path: /api/metrics",
        "    static_configs:",
        `      - targets: ["${target}"]`,
        "",
      ].join("\n"),
    );
    const port = await freePort();
    let output = "";
    const child = spawn(
      "prometheus",
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stdout!.on("data", (d) => (output += String(d)));
    child.stderr!.on("data", (d) => (output += String(d)));
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    await spawned.catch((err) => {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`cannot start prometheus (is Debian's prometheus package installed?): ${String(err)}`);
    });
    const prom = new TestPrometheus(`http://127.0.0.1:${port}`, child, dir, () => output);
    await prom.until(async () => (await fetch(`${prom.base}/-/ready`).catch(() => null))?.ok === true);
    return prom;
  }

  /** An instant query through the HTTP API: each series' labels and value. */
  async query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>> {
    const res = await fetch(`${this.base}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as {
      status: string;
      data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
    };
    if (body.status !== "success") throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Polls `check` every 250 ms until it holds; fails after `timeoutMs` with Prometheus's output. */
  async until(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!(await check().catch(() => false))) {
      if (Date.now() > end || this.child.exitCode !== null) {
        throw new Error(`prometheus: condition not met; its output:\n${this.output().slice(-3000)}`);
      }
      await sleep(250);
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}
