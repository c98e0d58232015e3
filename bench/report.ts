import { execFileSync } from "node:child_process";
import * as os from "node:os";

/** CPU per saga of each process, ms; `postgres` is null where it cannot be read separately. */
export interface CpuPerSaga {
  coordinator: number;
  branch: number;
  load: number;
  postgres: number | null;
}

/** One workload's measured numbers against one coordinator. */
export interface Row {
  workload: string;
  coordinator: "dtx" | "floor";
  /** Sagas that completed in the measured window. */
  sagas: number;
  sagasPerSec: number;
  p50: number;
  p99: number;
  /** Submits that failed plus sagas that did not reach `succeed`. */
  errors: number;
  /** Null on PGlite (its statistics are inside the coordinator's process). */
  commitsPerSaga: number | null;
  writeXactsPerSaga: number | null;
  branchCallsPerSaga: number;
  cpu: CpuPerSaga;
}

/** Everything the report shows. */
export interface Report {
  date: Date;
  store: string;
  settings: string;
  /** From {@link codeVersion}. */
  code: string | null;
  rows: Row[];
  notes: string[];
}

/** The machine line: cores, CPU model, memory, OS and Node version. */
export function machine(): string {
  const cpus = os.cpus();
  const mem = Math.round(os.totalmem() / 2 ** 30);
  return (
    `${cpus.length} cores, ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${mem} GiB RAM, ` +
    `${os.type()} ${os.release()}, Node ${process.version}`
  );
}

/**
 * The code measured: the git commit of `repoDir`, marked when `src/` has uncommitted changes; null
 * outside a git checkout.
 */
export function codeVersion(repoDir: string): string | null {
  try {
    const git = (...args: string[]) =>
      execFileSync("git", args, {
        cwd: repoDir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    const commit = git("rev-parse", "--short", "HEAD");
    const dirty = git("status", "--porcelain", "--", "src") !== "";
    return `commit ${commit}${dirty ? " with uncommitted changes in src/" : ""}`;
  } catch {
    return null;
  }
}

const fixed = (n: number | null, digits: number): string =>
  n === null ? "n/a" : Number.isFinite(n) ? n.toFixed(digits) : "-";

/** CPU of every process of a row that could be read, ms per saga. */
export function totalCpu(c: CpuPerSaga): number {
  return c.coordinator + c.branch + c.load + (c.postgres ?? 0);
}

function table(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(" | ")} |`,
    `| --- | ${header
      .slice(1)
      .map(() => "--:")
      .join(" | ")} |`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ];
}

function mainTable(rows: Row[]): string[] {
  const header = [
    "Workload",
    "Coordinator",
    "Sagas",
    "Sagas/s",
    "p50 ms",
    "p99 ms",
    "Errors",
    "Commits/saga",
    "Write xacts/saga",
    "Branch calls/saga",
    "CPU ms/saga: coordinator",
    "branch service",
    "load generator",
    "Postgres",
    "all",
  ];
  return table(
    header,
    rows.map((r) => [
      r.workload,
      r.coordinator,
      String(r.sagas),
      fixed(r.sagasPerSec, 0),
      fixed(r.p50, 1),
      fixed(r.p99, 1),
      String(r.errors),
      fixed(r.commitsPerSaga, 2),
      fixed(r.writeXactsPerSaga, 2),
      fixed(r.branchCallsPerSaga, 2),
      fixed(r.cpu.coordinator, 3),
      fixed(r.cpu.branch, 3),
      fixed(r.cpu.load, 3),
      fixed(r.cpu.postgres, 3),
      fixed(totalCpu(r.cpu), 3),
    ]),
  );
}

/** dtx against the floor on the same workload: each figure side by side and as a ratio. */
function ratioTable(dtx: Row, floor: Row): string[] {
  const line = (label: string, a: number | null, b: number | null, digits: number): string[] => [
    label,
    fixed(a, digits),
    fixed(b, digits),
    a !== null && b !== null && b > 0 ? `${(a / b).toFixed(2)}×` : "n/a",
  ];
  return table(
    [`${dtx.workload}`, "dtx", "floor", "dtx ÷ floor"],
    [
      line("Sagas/s", dtx.sagasPerSec, floor.sagasPerSec, 0),
      line("p50 ms", dtx.p50, floor.p50, 1),
      line("Coordinator CPU ms/saga", dtx.cpu.coordinator, floor.cpu.coordinator, 3),
      line("Postgres CPU ms/saga", dtx.cpu.postgres, floor.cpu.postgres, 3),
      line("All processes CPU ms/saga", totalCpu(dtx.cpu), totalCpu(floor.cpu), 3),
      line("Commits/saga", dtx.commitsPerSaga, floor.commitsPerSaga, 2),
    ],
  );
}

/** The report as Markdown (a heading, the setup, the table, the ratio to the floor, notes). */
export function renderMarkdown(r: Report): string {
  const lines = [
    `## dtx saga benchmark, ${r.date.toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `- Machine: ${machine()}`,
    ...(r.code ? [`- Code: ${r.code}`] : []),
    `- Store: ${r.store}`,
    `- Settings: ${r.settings}`,
    "",
    ...mainTable(r.rows),
  ];
  const floor = r.rows.find((x) => x.coordinator === "floor");
  const dtx = floor && r.rows.find((x) => x.coordinator === "dtx" && x.workload === floor.workload);
  if (floor && dtx) lines.push("", "Against the floor:", "", ...ratioTable(dtx, floor));
  if (r.notes.length > 0) lines.push("", ...r.notes.map((n) => `- ${n}`));
  return lines.join("\n") + "\n";
}

/**
 * Formats Markdown with the repository's prettier settings, so the written file passes
 * `prettier --check`; returns the text unchanged when prettier is not installed.
 */
export async function prettify(markdown: string, file: string): Promise<string> {
  try {
    const prettier = await import("prettier");
    const options = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(markdown, { ...options, parser: "markdown" });
  } catch {
    return markdown;
  }
}
