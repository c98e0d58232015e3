import { appendFileSync, existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** One row of the fault suite's table: a scenario and its figures. */
export interface FaultFigures {
  scenario: string;
  transactions: number;
  acknowledged: number;
  kills: number;
  /** Takeover time of each kill (ms): from the restart's "dtx started" (or the kill, with survivors) to the last saga final. */
  takeoverMs: number[];
  /** Requests tried (the fuzz corpus), or requests that got an error answer during a fault. */
  requests: number;
  lost: number;
  halfDone: number;
  notes: string;
}

/** Where the figures of one run go (shared by the jest workers and the teardown that prints them). */
export const FIGURES_FILE =
  process.env.DTX_TEST_FAULT_FIGURES ?? join(tmpdir(), `dtx-fault-figures-${process.ppid}.jsonl`);

/** Records one scenario's figures for the table printed at the end of the run. */
export function recordFigures(f: FaultFigures): void {
  appendFileSync(FIGURES_FILE, `${JSON.stringify(f)}\n`);
}

/** Every figure recorded in this run, and forgets them. */
export function takeFigures(file = FIGURES_FILE): FaultFigures[] {
  if (!existsSync(file)) return [];
  const rows = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as FaultFigures);
  rmSync(file, { force: true });
  return rows;
}

/** The figures as a fixed-width text table. */
export function figuresTable(rows: FaultFigures[]): string {
  const head = [
    "scenario",
    "txns",
    "acked",
    "kills",
    "takeover ms (each kill)",
    "requests",
    "lost",
    "half-done",
    "notes",
  ];
  const body = rows.map((r) => [
    r.scenario,
    String(r.transactions),
    String(r.acknowledged),
    String(r.kills),
    r.takeoverMs.length ? r.takeoverMs.map((t) => Math.round(t)).join(", ") : "-",
    String(r.requests),
    String(r.lost),
    String(r.halfDone),
    r.notes,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}
