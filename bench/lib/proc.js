/** Per-process CPU time from /proc, to tell how busy a target was during a run. */
import { readFile } from "node:fs/promises";

const CLOCK_TICKS_PER_SEC = 100; // USER_HZ on Linux

/** User + system CPU seconds used so far by `pid` (its threads included). */
export async function cpuSeconds(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at state (field 3).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SEC;
}

/**
 * User + system CPU seconds of this process's children that have exited and
 * been reaped (cutime + cstime): the CPU a short-lived child such as h2load
 * used, read after it is gone.
 */
export async function reapedChildrenCpuSeconds() {
  const stat = await readFile("/proc/self/stat", "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SEC;
}

/** Busy (non-idle, non-iowait) CPU seconds of one CPU since boot, from /proc/stat. */
export async function cpuBusySeconds(cpu) {
  const stat = await readFile("/proc/stat", "utf8");
  const line = stat.split("\n").find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return Number.NaN;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + (steal ?? 0)) / CLOCK_TICKS_PER_SEC;
}
