/**
 * Process source (`switchyard agent --processes PATTERN`), for machines where
 * the backends are plain processes rather than containers: every process
 * whose command line matches the regular expression, except the agent
 * itself. Per process:
 * - CPU: utime + stime from /proc/PID/stat (clock ticks, 100 per second),
 *   so CPU percent is relative to one core, as `top` shows it;
 * - memory: VmRSS from /proc/PID/status against the host's MemTotal;
 * - network: /proc/PID/net/dev, which counts the whole network namespace:
 *   processes sharing the host's namespace all report the host's traffic.
 *   Only processes in their own namespace (containers, `unshare -n`) get
 *   figures of their own.
 * A process that exits between two reads is skipped, never an error.
 */
import {
  CLOCK_TICKS_PER_SECOND,
  listDirectory,
  parseKbField,
  parseProcStat,
  readMemTotal,
  readNetCounters,
  readText,
} from "./proc-files.js";
import type { RawEntry, SampleSource } from "./sampler.js";

export interface ProcessSourceOptions {
  /** Matched against the command line (arguments joined by spaces). */
  pattern: RegExp;
  /** Default /proc. */
  procRoot?: string;
  /** Pids never reported; default the agent's own. */
  excludePids?: readonly number[];
}

/** Longest command line reported as a name. */
const MAX_NAME_LENGTH = 256;

export class ProcessSource implements SampleSource {
  readonly kind = "processes";
  #pattern: RegExp;
  #procRoot: string;
  #exclude: Set<number>;

  constructor(options: ProcessSourceOptions) {
    this.#pattern = new RegExp(options.pattern.source, options.pattern.flags.replace(/[gy]/g, ""));
    this.#procRoot = options.procRoot ?? "/proc";
    this.#exclude = new Set(options.excludePids ?? [process.pid]);
  }

  collect(): RawEntry[] {
    const memTotal = readMemTotal(this.#procRoot) ?? 0;
    const entries: RawEntry[] = [];
    for (const dirent of listDirectory(this.#procRoot)) {
      if (!/^\d+$/.test(dirent.name)) continue;
      const pid = Number(dirent.name);
      if (this.#exclude.has(pid)) continue;
      const entry = this.#read(pid, memTotal);
      if (entry) entries.push(entry);
    }
    return entries;
  }

  #read(pid: number, memTotal: number): RawEntry | undefined {
    const base = `${this.#procRoot}/${pid}`;
    const cmdline = readText(`${base}/cmdline`);
    if (!cmdline) return undefined;
    const command = cmdline.replace(/\0+$/, "").replaceAll("\0", " ");
    if (!this.#pattern.test(command)) return undefined;
    const statText = readText(`${base}/stat`);
    const stat = statText === undefined ? undefined : parseProcStat(statText);
    const status = readText(`${base}/status`);
    if (!stat || status === undefined) return undefined;
    const net = readNetCounters(this.#procRoot, pid);
    return {
      id: String(pid),
      name: command.length > MAX_NAME_LENGTH ? `${command.slice(0, MAX_NAME_LENGTH - 1)}…` : command,
      generation: String(stat.startTicks),
      cpuUsec: (stat.cpuTicks * 1_000_000) / CLOCK_TICKS_PER_SECOND,
      memoryBytes: parseKbField(status, "VmRSS") ?? 0,
      memoryLimitBytes: memTotal,
      netRxBytes: net?.rx,
      netTxBytes: net?.tx,
      labels: { pid: String(pid), comm: stat.comm },
    };
  }
}
