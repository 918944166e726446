/**
 * The agent's cgroup source (its default): every leaf cgroup with figures,
 * under cgroup v2's unified hierarchy or cgroup v1's memory hierarchy (see
 * cgroup-layout.ts for where each version keeps its counters). That covers
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
 * - CPU: usage relative to the cgroup's CPU limit if set, else to one core
 *   (as `docker stats` shows it);
 * - memory: usage minus inactive file cache (as `docker stats`), against the
 *   cgroup's limit, else the host's MemTotal;
 * - network: /proc/PID/net/dev of the first process in cgroup.procs (the
 *   container's network namespace; a cgroup in the host namespace reports
 *   the host's traffic).
 * The walk is bounded (depth and count), and an unreadable cgroup is skipped.
 */
import { join } from "node:path";
import { type CgroupLayout, detectCgroupLayout } from "./cgroup-layout.js";
import { listDirectory, readMemTotal, readNetCounters, readText } from "./proc-files.js";
import type { RawEntry, SampleSource } from "./sampler.js";

export interface CgroupSourceOptions {
  /** Where cgroups are mounted (a v2 hierarchy, or the parent of v1's memory/, cpuacct/ ...); default /sys/fs/cgroup. */
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

interface DockerInfo {
  name: string | undefined;
  labels: Record<string, string> | undefined;
}

export class CgroupSource implements SampleSource {
  readonly kind = "cgroup";
  readonly layout: CgroupLayout;
  #procRoot: string;
  #dockerRoot: string;
  #docker = new Map<string, DockerInfo>();

  constructor(options: CgroupSourceOptions = {}) {
    this.layout = detectCgroupLayout(options.root);
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

  /** Collects leaf cgroups: with figures, and no child that is a cgroup. Returns whether `relative` is one. */
  #walk(relative: string, depth: number, leaves: string[]): boolean {
    const { root, cgroupFile, figuresFile } = this.layout;
    const dir = relative === "" ? root : join(root, relative);
    let isCgroup = false;
    let hasFigures = false;
    const children: string[] = [];
    for (const dirent of listDirectory(dir)) {
      if (dirent.isDirectory()) children.push(dirent.name);
      if (dirent.name === cgroupFile) isCgroup = true;
      if (dirent.name === figuresFile) hasFigures = true;
    }
    let childIsCgroup = false;
    if (depth < MAX_DEPTH) {
      for (const child of children) {
        if (leaves.length >= MAX_CGROUPS) break;
        if (this.#walk(relative === "" ? child : `${relative}/${child}`, depth + 1, leaves))
          childIsCgroup = true;
      }
    }
    if (isCgroup && hasFigures && !childIsCgroup && relative !== "") leaves.push(relative);
    return isCgroup;
  }

  #read(relative: string, hostMemory: number): RawEntry | undefined {
    const counters = this.layout.read(relative);
    if (!counters) return undefined;
    const { memoryBytes: current, inactiveFileBytes: inactiveFile } = counters;
    const pid = firstPid(counters.procs);
    const net = pid === undefined ? undefined : readNetCounters(this.#procRoot, pid);

    const containerId = CONTAINER_ID.exec(relative)?.[1];
    const id = containerId ?? relative;
    const docker = containerId ? this.#dockerInfo(containerId) : undefined;
    const labels = docker?.labels;
    const service = labels?.[SWARM_SERVICE_LABEL] ?? labels?.[COMPOSE_SERVICE_LABEL];
    return {
      id,
      name: docker?.name ?? (containerId ? containerId.slice(0, 12) : lastSegment(relative)),
      cpuUsec: counters.cpuUsec,
      cpuLimitCores: counters.cpuLimitCores,
      memoryBytes: Math.max(0, current - (inactiveFile < current ? inactiveFile : 0)),
      memoryLimitBytes: counters.memoryLimitBytes ?? hostMemory,
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
