import { execFileSync } from "node:child_process";
import * as os from "node:os";

/** One workload's measured numbers. */
export interface Row {
  workload: string;
  /** Sagas that reached `succeed` in the measured window. */
  sagas: number;
  sagasPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  /** Submits that failed plus sagas that did not reach `succeed`. */
  errors: number;
  /** Null on PGlite (no `pg_stat_database` worth reading). */
  commitsPerSaga: number | null;
  writeXactsPerSaga: number | null;
  queriesPerSaga: number;
  branchCallsPerSaga: number;
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

/** The report as Markdown (a heading, the setup, the table, notes). */
export function renderMarkdown(r: Report): string {
  const header = [
    "Workload",
    "Sagas",
    "Sagas/s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "Errors",
    "Commits/saga",
    "Write xacts/saga",
    "Queries/saga",
    "Branch calls/saga",
  ];
  const lines = [
    `## dtx saga benchmark, ${r.date.toISOString().slice(0, 16).replace("T", " ")} UTC`,
    "",
    `- Machine: ${machine()}`,
    ...(r.code ? [`- Code: ${r.code}`] : []),
    `- Store: ${r.store}`,
    `- Settings: ${r.settings}`,
    "",
    `| ${header.join(" | ")} |`,
    `| --- | ${header
      .slice(1)
      .map(() => "--:")
      .join(" | ")} |`,
    ...r.rows.map(
      (row) =>
        `| ${[
          row.workload,
          String(row.sagas),
          fixed(row.sagasPerSec, 0),
          fixed(row.p50, 1),
          fixed(row.p95, 1),
          fixed(row.p99, 1),
          String(row.errors),
          fixed(row.commitsPerSaga, 2),
          fixed(row.writeXactsPerSaga, 2),
          fixed(row.queriesPerSaga, 2),
          fixed(row.branchCallsPerSaga, 2),
        ].join(" | ")} |`,
    ),
  ];
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
