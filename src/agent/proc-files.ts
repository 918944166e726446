/**
 * Reading /proc and /sys/fs/cgroup files for the monitoring agent. Every read
 * is synchronous (these are in-memory files: a synchronous read costs a few
 * microseconds, far less than a round trip through the thread pool) and none
 * throws: a file that vanished (a process exited, a container stopped) or
 * cannot be read yields undefined and the caller skips the entry. Parsers
 * take the text, so they are tested without a /proc.
 */
import { type Dirent, readdirSync, readFileSync } from "node:fs";

/** USER_HZ: the unit of utime/stime in /proc/PID/stat; 100 on every Linux ABI Node runs on. */
export const CLOCK_TICKS_PER_SECOND = 100;

/** File contents as text, or undefined when it cannot be read. */
export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Directory entries, or an empty list when it cannot be read. */
export function listDirectory(path: string): Dirent[] {
  try {
    return readdirSync(path, { withFileTypes: true });
  } catch {
    return [];
  }
}

/** Cumulative bytes received and sent over every interface except loopback. */
export interface NetCounters {
  rx: number;
  tx: number;
}

/** Parses /proc/PID/net/dev (the counters of the process's network namespace). */
export function parseNetDev(text: string): NetCounters | undefined {
  let rx = 0;
  let tx = 0;
  let seen = false;
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === "" || name.includes("|")) continue;
    seen = true;
    if (name === "lo") continue;
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/);
    const received = Number(fields[0]);
    const sent = Number(fields[8]);
    if (Number.isFinite(received)) rx += received;
    if (Number.isFinite(sent)) tx += sent;
  }
  return seen ? { rx, tx } : undefined;
}

/** The fields of /proc/PID/stat the agent needs. */
export interface ProcStat {
  comm: string;
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  /** Start time after boot, clock ticks: with the pid, identifies one process across pid reuse. */
  startTicks: number;
}

/** Parses /proc/PID/stat; the command name may hold spaces and parentheses, so fields count from the last ")". */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  // After ")": state is field 3; utime 14, stime 15, starttime 22 (1-based, per proc(5)).
  const fields = text
    .slice(close + 2)
    .trim()
    .split(" ");
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  const start = Number(fields[22 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime) || !Number.isFinite(start)) return undefined;
  return { comm: text.slice(open + 1, close), cpuTicks: utime + stime, startTicks: start };
}

/** A `Key:   value kB` field of /proc/PID/status or /proc/meminfo, in bytes. */
export function parseKbField(text: string, key: string): number | undefined {
  const start = text.indexOf(`${key}:`);
  if (start < 0) return undefined;
  const end = text.indexOf("\n", start);
  const value = Number.parseInt(text.slice(start + key.length + 1, end < 0 ? undefined : end).trim(), 10);
  return Number.isFinite(value) ? value * 1024 : undefined;
}

/** A `key value` line of a flat-keyed cgroup file (cpu.stat, memory.stat). */
export function parseKeyedValue(text: string, key: string): number | undefined {
  for (const line of text.split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0 && line.slice(0, space) === key) {
      const value = Number(line.slice(space + 1).trim());
      return Number.isFinite(value) ? value : undefined;
    }
  }
  return undefined;
}

/** cpu.max (`"max 100000"` or `"50000 100000"`): the CPU limit in cores, undefined when unlimited. */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === "max") return undefined;
  const cores = Number(quota) / Number(period ?? 100_000);
  return Number.isFinite(cores) && cores > 0 ? cores : undefined;
}

/** memory.max (`"max"` or bytes): the memory limit, undefined when unlimited. */
export function parseMemoryMax(text: string): number | undefined {
  const value = text.trim();
  if (value === "max" || value === "") return undefined;
  const bytes = Number(value);
  return Number.isFinite(bytes) && bytes > 0 ? bytes : undefined;
}

/** The host's memory (MemTotal of /proc/meminfo), bytes. */
export function readMemTotal(procRoot: string): number | undefined {
  const text = readText(`${procRoot}/meminfo`);
  return text === undefined ? undefined : parseKbField(text, "MemTotal");
}

/** Network counters of the namespace `pid` lives in. */
export function readNetCounters(procRoot: string, pid: number): NetCounters | undefined {
  const text = readText(`${procRoot}/${pid}/net/dev`);
  return text === undefined ? undefined : parseNetDev(text);
}
