/**
 * Cgroup v2 source (the agent's default): every leaf cgroup that has both
 * `cpu.stat` and `memory.current`, under the unified hierarchy at
 * /sys/fs/cgroup (or /sys/fs/cgroup/unified on hybrid hosts). That covers
 * Docker (`system.slice/docker-ID.scope` with the systemd driver,
 * `docker/ID` with cgroupfs), containerd and CRI-O (`cri-containerd-ID.scope`,
 * `crio-ID.scope`, under kubepods), Podman (`libpod-ID.scope`) and plain
 * systemd services (`system.slice/nginx.service`).
 *
 * Per cgroup:
 * - id: the 64-hex container id when the path holds one, else the path;
 * - name: the Docker container name and labels from
 *   /var/lib/docker/containers/ID/config.v2.json when readable (cached), else
 *   the short container id, else the last path segment;
 * - CPU: `usage_usec` of cpu.stat, relative to the cpu.max limit if set,
 *   else to one core (as `docker stats` shows it);
 * - memory: memory.current minus inactive file cache (as `docker stats`),
 *   against memory.max, else the host's MemTotal;
 * - network: /proc/PID/net/dev of the first process in cgroup.procs (the
 *   container's network namespace; a cgroup in the host namespace reports
 *   the host's traffic).
 * The walk is bounded (depth and count), and an unreadable cgroup is skipped.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import {
  listDirectory,
  parseCpuMax,
  parseKeyedValue,
  parseMemoryMax,
  readMemTotal,
  readNetCounters,
  readText,
} from "./proc-files.js";
import type { RawEntry, SampleSource } from "./sampler.js";

export interface CgroupSourceOptions {
  /** Unified hierarchy root; default /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host. */
  root?: string;
  /** Default /proc. */
  procRoot?: string;
  /** Where Docker keeps container configs (names, labels); default /var/lib/docker. */
  dockerRoot?: string;
}

const MAX_DEPTH = 16;
const MAX_CGROUPS = 20_000;
const CONTAINER_ID = /(?:^|[-/_:])([0-9a-f]{64})(?:\.scope)?$/;
const SWARM_SERVICE_LABEL = "com.docker.swarm.service.name";
const COMPOSE_SERVICE_LABEL = "com.docker.compose.service";

/** Where the unified (v2) hierarchy is mounted on this host. */
export function defaultCgroupRoot(): string {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return "/sys/fs/cgroup";
  if (existsSync("/sys/fs/cgroup/unified/cgroup.controllers")) return "/sys/fs/cgroup/unified";
  return "/sys/fs/cgroup";
}

interface DockerInfo {
  name: string | undefined;
  labels: Record<string, string> | undefined;
}

export class CgroupSource implements SampleSource {
  readonly kind = "cgroup";
  readonly root: string;
  #procRoot: string;
  #dockerRoot: string;
  #docker = new Map<string, DockerInfo>();

  constructor(options: CgroupSourceOptions = {}) {
    this.root = options.root ?? defaultCgroupRoot();
    this.#procRoot = options.procRoot ?? "/proc";
    this.#dockerRoot = options.dockerRoot ?? "/var/lib/docker";
  }

  collect(): RawEntry[] {
    const hostMemory = readMemTotal(this.#procRoot) ?? 0;
    const entries: RawEntry[] = [];
    const live = new Set<string>();
    const leaves: string[] = [];
    this.#walk("", 0, leaves);
    for (const path of leaves) {
      const entry = this.#read(path, hostMemory);
      if (!entry) continue;
      entries.push(entry);
      live.add(entry.id);
    }
    for (const id of this.#docker.keys()) if (!live.has(id)) this.#docker.delete(id);
    return entries;
  }

  /** Collects leaf cgroups (with cpu.stat and memory.current, no child cgroup having cpu.stat). */
  #walk(relative: string, depth: number, leaves: string[]): boolean {
    const dir = relative === "" ? this.root : join(this.root, relative);
    let hasCpuStat = false;
    let hasMemory = false;
    const children: string[] = [];
    for (const dirent of listDirectory(dir)) {
      if (dirent.isDirectory()) children.push(dirent.name);
      else if (dirent.name === "cpu.stat") hasCpuStat = true;
      else if (dirent.name === "memory.current") hasMemory = true;
    }
    let childIsCgroup = false;
    if (depth < MAX_DEPTH) {
      for (const child of children) {
        if (leaves.length >= MAX_CGROUPS) break;
        if (this.#walk(relative === "" ? child : `${relative}/${child}`, depth + 1, leaves))
          childIsCgroup = true;
      }
    }
    if (hasCpuStat && hasMemory && !childIsCgroup && relative !== "") leaves.push(relative);
    return hasCpuStat;
  }

  #read(relative: string, hostMemory: number): RawEntry | undefined {
    const dir = join(this.root, relative);
    const cpuStat = readText(join(dir, "cpu.stat"));
    const memoryText = readText(join(dir, "memory.current"));
    if (cpuStat === undefined || memoryText === undefined) return undefined;
    const cpuUsec = parseKeyedValue(cpuStat, "usage_usec");
    const current = Number(memoryText.trim());
    if (cpuUsec === undefined || !Number.isFinite(current)) return undefined;
    const memoryStat = readText(join(dir, "memory.stat"));
    const inactiveFile = memoryStat === undefined ? 0 : (parseKeyedValue(memoryStat, "inactive_file") ?? 0);
    const maxText = readText(join(dir, "memory.max"));
    const cpuMaxText = readText(join(dir, "cpu.max"));
    const pid = firstPid(readText(join(dir, "cgroup.procs")));
    const net = pid === undefined ? undefined : readNetCounters(this.#procRoot, pid);

    const containerId = CONTAINER_ID.exec(relative)?.[1];
    const id = containerId ?? relative;
    const docker = containerId ? this.#dockerInfo(containerId) : undefined;
    const labels = docker?.labels;
    const service = labels?.[SWARM_SERVICE_LABEL] ?? labels?.[COMPOSE_SERVICE_LABEL];
    return {
      id,
      name: docker?.name ?? (containerId ? containerId.slice(0, 12) : lastSegment(relative)),
      cpuUsec,
      cpuLimitCores: cpuMaxText === undefined ? undefined : parseCpuMax(cpuMaxText),
      memoryBytes: Math.max(0, current - (inactiveFile < current ? inactiveFile : 0)),
      memoryLimitBytes: (maxText === undefined ? undefined : parseMemoryMax(maxText)) ?? hostMemory,
      netRxBytes: net?.rx,
      netTxBytes: net?.tx,
      labels,
      service,
    };
  }

  /** Name and labels from Docker's config.v2.json, read once per container. */
  #dockerInfo(id: string): DockerInfo {
    const cached = this.#docker.get(id);
    if (cached) return cached;
    const info: DockerInfo = { name: undefined, labels: undefined };
    const text = readText(join(this.#dockerRoot, "containers", id, "config.v2.json"));
    if (text !== undefined) {
      try {
        const config = JSON.parse(text) as { Name?: unknown; Config?: { Labels?: unknown } };
        if (typeof config.Name === "string") info.name = config.Name.replace(/^\//, "");
        const labels = config.Config?.Labels;
        if (labels && typeof labels === "object") {
          info.labels = Object.fromEntries(
            Object.entries(labels as Record<string, unknown>).filter(
              (pair): pair is [string, string] => typeof pair[1] === "string",
            ),
          );
        }
      } catch {
        // Unreadable config: keep the short id as the name.
      }
    }
    this.#docker.set(id, info);
    return info;
  }
}

function firstPid(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function lastSegment(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? path : path.slice(slash + 1);
}
