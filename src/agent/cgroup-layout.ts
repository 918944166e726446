/**
 * Where a cgroup's counters live, for the agent's cgroup source: cgroup v2
 * keeps every controller in one unified hierarchy (`cpu.stat`,
 * `memory.current`, ...); cgroup v1, still the default of older distributions
 * and of hosts booted with `systemd.unified_cgroup_hierarchy=0`, mounts one
 * hierarchy per controller (`memory/`, `cpuacct/`, `cpu/`), where Docker
 * and systemd create the same relative path in each. A layout answers two
 * questions for a relative path: is it a cgroup (and does it hold figures),
 * and what are its counters, already in the v2 units the source works in.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseCpuMax, parseKeyedValue, parseMemoryMax, readText } from "./proc-files.js";

/** One cgroup's counters. */
export interface CgroupCounters {
  /** CPU time used so far, microseconds. */
  cpuUsec: number;
  /** Memory in use, file cache included. */
  memoryBytes: number;
  /** Inactive file cache, which `docker stats` leaves out. */
  inactiveFileBytes: number;
  /** Memory limit, when one is set. */
  memoryLimitBytes: number | undefined;
  /** CPU limit in cores, when one is set. */
  cpuLimitCores: number | undefined;
  /** Contents of cgroup.procs (process ids, one a line). */
  procs: string | undefined;
}

export interface CgroupLayout {
  readonly version: 1 | 2;
  /** The hierarchy walked to find cgroups. */
  readonly root: string;
  /** A file every cgroup of the walked hierarchy has. */
  readonly cgroupFile: string;
  /** A file only cgroups with figures have (v2: the memory controller is enabled there). */
  readonly figuresFile: string;
  /** The counters of the cgroup at `relative`; undefined when unreadable. */
  read(relative: string): CgroupCounters | undefined;
}

/** cgroup v2: one unified hierarchy. */
export class UnifiedLayout implements CgroupLayout {
  readonly version = 2;
  readonly cgroupFile = "cpu.stat";
  readonly figuresFile = "memory.current";
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  read(relative: string): CgroupCounters | undefined {
    const dir = join(this.root, relative);
    const cpuStat = readText(join(dir, "cpu.stat"));
    const memoryText = readText(join(dir, "memory.current"));
    if (cpuStat === undefined || memoryText === undefined) return undefined;
    const cpuUsec = parseKeyedValue(cpuStat, "usage_usec");
    const memoryBytes = Number(memoryText.trim());
    if (cpuUsec === undefined || !Number.isFinite(memoryBytes)) return undefined;
    const memoryStat = readText(join(dir, "memory.stat"));
    const maxText = readText(join(dir, "memory.max"));
    const cpuMaxText = readText(join(dir, "cpu.max"));
    return {
      cpuUsec,
      memoryBytes,
      inactiveFileBytes: memoryStat === undefined ? 0 : (parseKeyedValue(memoryStat, "inactive_file") ?? 0),
      memoryLimitBytes: maxText === undefined ? undefined : parseMemoryMax(maxText),
      cpuLimitCores: cpuMaxText === undefined ? undefined : parseCpuMax(cpuMaxText),
      procs: readText(join(dir, "cgroup.procs")),
    };
  }
}

/** v1 writes "no limit" as a page-rounded 2^63 - 1; anything this large is no limit. */
const V1_NO_MEMORY_LIMIT = 2 ** 60;

/** cgroup v1: the memory hierarchy is walked; CPU comes from cpuacct and cpu at the same path. */
export class SplitLayout implements CgroupLayout {
  readonly version = 1;
  readonly cgroupFile = "memory.usage_in_bytes";
  readonly figuresFile = "memory.usage_in_bytes";
  readonly root: string;
  #cpuacct: string;
  #cpu: string;

  /** `mount` holds the controllers' hierarchies: memory/, cpuacct/ (or cpu,cpuacct/), cpu/. */
  constructor(mount: string) {
    this.root = join(mount, "memory");
    this.#cpuacct = firstExisting(mount, ["cpuacct", "cpu,cpuacct", "cpuacct,cpu"]);
    this.#cpu = firstExisting(mount, ["cpu", "cpu,cpuacct", "cpuacct,cpu"]);
  }

  read(relative: string): CgroupCounters | undefined {
    const dir = join(this.root, relative);
    const usageNs = Number(readText(join(this.#cpuacct, relative, "cpuacct.usage"))?.trim());
    const memoryBytes = Number(readText(join(dir, "memory.usage_in_bytes"))?.trim());
    if (!Number.isFinite(usageNs) || !Number.isFinite(memoryBytes)) return undefined;
    const memoryStat = readText(join(dir, "memory.stat"));
    const limit = Number(readText(join(dir, "memory.limit_in_bytes"))?.trim());
    const quota = Number(readText(join(this.#cpu, relative, "cpu.cfs_quota_us"))?.trim());
    const period = Number(readText(join(this.#cpu, relative, "cpu.cfs_period_us"))?.trim());
    return {
      cpuUsec: usageNs / 1000,
      memoryBytes,
      inactiveFileBytes:
        memoryStat === undefined
          ? 0
          : (parseKeyedValue(memoryStat, "total_inactive_file") ??
            parseKeyedValue(memoryStat, "inactive_file") ??
            0),
      memoryLimitBytes: limit > 0 && limit < V1_NO_MEMORY_LIMIT ? limit : undefined,
      cpuLimitCores: quota > 0 && period > 0 ? quota / period : undefined,
      procs: readText(join(dir, "cgroup.procs")),
    };
  }
}

/**
 * The layout of the cgroups mounted at `mount` (default /sys/fs/cgroup): v2
 * when it is a unified hierarchy, else v1 when it holds a memory hierarchy,
 * else the unified hierarchy of a hybrid host (mount/unified), which carries
 * no memory figures and so reports nothing.
 */
export function detectCgroupLayout(mount = "/sys/fs/cgroup"): CgroupLayout {
  if (existsSync(join(mount, "cgroup.controllers"))) return new UnifiedLayout(mount);
  if (existsSync(join(mount, "memory", "memory.usage_in_bytes"))) return new SplitLayout(mount);
  const unified = join(mount, "unified");
  return new UnifiedLayout(existsSync(join(unified, "cgroup.controllers")) ? unified : mount);
}

function firstExisting(mount: string, names: readonly string[]): string {
  for (const name of names) if (existsSync(join(mount, name))) return join(mount, name);
  return join(mount, names[0] as string);
}
