/**
 * CPU time from Linux's /proc: per process (`/proc/<pid>/stat`) and for the whole machine (`/proc/stat`).
 * Every figure is in clock ticks; {@link ticksPerSecond} converts.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** The CPU fields of one process's `/proc/<pid>/stat`, in clock ticks. */
export interface ProcCpu {
  pid: number;
  ppid: number;
  /** utime + stime: CPU the process itself used (all its threads). */
  self: number;
  /** cutime + cstime: CPU of its children that have exited and been reaped by it. */
  reapedChildren: number;
}

/** Clock ticks per second (`getconf CLK_TCK`, 100 on practically every Linux); 100 if getconf fails. */
export function ticksPerSecond(): number {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(n) && n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** Reads `/proc/<pid>/stat`; null when the process is gone (or /proc is not Linux's). */
export function procCpu(pid: number): ProcCpu | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // the command name (field 2) is in parentheses and may itself contain spaces or parentheses
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  // rest[0] is field 3 (state): ppid is field 4, utime..cstime are fields 14..17
  const field = (n: number) => Number(rest[n - 3]);
  return {
    pid,
    ppid: field(4),
    self: field(14) + field(15),
    reapedChildren: field(16) + field(17),
  };
}

/** Every live process whose parent is `ppid`. */
export function childrenOf(ppid: number): ProcCpu[] {
  const out: ProcCpu[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const p = procCpu(Number(name));
    if (p && p.ppid === ppid) out.push(p);
  }
  return out;
}

/** `/proc/<pid>/cmdline` as one string (arguments joined by spaces); "" when gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").trim();
  } catch {
    return "";
  }
}

/**
 * Busy ticks of the whole machine so far, summed over all CPUs (`/proc/stat`: user, nice, system, irq,
 * softirq, steal; guest time is already inside user). Null when unreadable.
 */
export function machineBusyTicks(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    return user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  } catch {
    return null;
  }
}
