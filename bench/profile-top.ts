/**
 * The top entries of a V8 CPU profile (`.cpuprofile`, as `BENCH_PROFILE_DIR` writes them), as a Markdown
 * table: self time per function, as a share of the busy time (idle excluded), with where it is defined.
 *
 *   node dist/bench/profile-top.js <file.cpuprofile> [rows]
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a function is defined, short: a package name, or a path under the project, or Node's module. */
function place(url: string): string {
  if (url === "") return "";
  const nm = url.lastIndexOf("node_modules/");
  if (nm >= 0) {
    const parts = url.slice(nm + "node_modules/".length).split("/");
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith("node:")) return url;
  const dist = url.indexOf("/dist/");
  return dist >= 0 ? url.slice(dist + "/dist/".length) : path.basename(url);
}

/** Self time (µs) of each function, keyed by name and place, and the total busy time. */
export function selfTimes(p: Profile): { busyUs: number; rows: Array<{ key: string; us: number }> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let busyUs = 0;
  p.samples.forEach((id, i) => {
    const n = byId.get(id)!;
    const us = p.timeDeltas[i] ?? 0;
    if (n.callFrame.functionName === "(idle)") return;
    busyUs += us;
    const where = place(n.callFrame.url);
    const key = `${n.callFrame.functionName || "(anonymous)"}${where ? ` · ${where}` : ""}`;
    totals.set(key, (totals.get(key) ?? 0) + us);
  });
  const rows = [...totals].map(([key, us]) => ({ key, us })).sort((a, b) => b.us - a.us);
  return { busyUs, rows };
}

function main(): void {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node dist/bench/profile-top.js <file.cpuprofile> [rows]");
    process.exit(2);
  }
  const { busyUs, rows } = selfTimes(JSON.parse(readFileSync(file, "utf8")) as Profile);
  console.log(`busy ${(busyUs / 1000).toFixed(0)} ms (idle excluded)\n`);
  console.log("| self % | self ms | function · where |\n| -----: | ------: | ---------------- |");
  for (const r of rows.slice(0, Number(n ?? 20))) {
    console.log(
      `| ${((100 * r.us) / busyUs).toFixed(1)} | ${(r.us / 1000).toFixed(0)} | ${r.key.replace(/\|/g, "\\|")} |`,
    );
  }
}

main();
