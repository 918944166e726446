import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CgroupSource } from "./cgroup-source.js";
import { Sampler } from "./sampler.js";

let dir: string;
let root: string;
let dockerRoot: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "switchyard-cgroup-"));
  root = join(dir, "cgroup");
  dockerRoot = join(dir, "docker");
  await mkdir(root, { recursive: true });
  await writeFile(join(root, "cgroup.controllers"), "cpu memory\n");
  await writeFile(join(root, "cpu.stat"), "usage_usec 999999999\n");
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const id = (n: number) => n.toString(16).padStart(64, "a");

interface FakeCgroup {
  usageUsec: number;
  memory: number;
  inactiveFile?: number;
  memoryMax?: string;
  cpuMax?: string;
  pid?: number;
}

async function cgroup(path: string, values: FakeCgroup): Promise<void> {
  const at = join(root, path);
  await mkdir(at, { recursive: true });
  await writeFile(join(at, "cpu.stat"), `usage_usec ${values.usageUsec}\nuser_usec 1\nsystem_usec 1\n`);
  await writeFile(join(at, "memory.current"), `${values.memory}\n`);
  await writeFile(join(at, "memory.stat"), `anon 1\ninactive_file ${values.inactiveFile ?? 0}\n`);
  await writeFile(join(at, "memory.max"), `${values.memoryMax ?? "max"}\n`);
  await writeFile(join(at, "cpu.max"), `${values.cpuMax ?? "max 100000"}\n`);
  await writeFile(join(at, "cgroup.procs"), values.pid === undefined ? "" : `${values.pid}\n`);
}

describe("CgroupSource", () => {
  it("finds leaf cgroups of Docker, containerd and systemd, with names, limits and labels", async () => {
    await cgroup(`system.slice/docker-${id(1)}.scope`, {
      usageUsec: 1000,
      memory: 600,
      inactiveFile: 100,
      memoryMax: "1000",
      cpuMax: "50000 100000",
      pid: process.pid,
    });
    await cgroup(`kubepods.slice/kubepods-pod1.slice/cri-containerd-${id(2)}.scope`, {
      usageUsec: 5,
      memory: 10,
    });
    await cgroup("system.slice/nginx.service", { usageUsec: 7, memory: 20 });
    // A parent with cpu.stat and a child cgroup is not a leaf.
    await writeFile(join(root, "system.slice", "cpu.stat"), "usage_usec 1\n");
    await writeFile(join(root, "system.slice", "memory.current"), "1\n");
    await mkdir(join(dockerRoot, "containers", id(1)), { recursive: true });
    await writeFile(
      join(dockerRoot, "containers", id(1), "config.v2.json"),
      JSON.stringify({
        Name: "/web-stress.1.xyz",
        Config: { Labels: { "com.docker.swarm.service.name": "web-stress", tier: "web" } },
      }),
    );
    const source = new CgroupSource({ root, dockerRoot });
    const entries = source.collect().sort((a, b) => a.name.localeCompare(b.name));
    expect(entries.map((entry) => [entry.id, entry.name])).toEqual([
      [id(2), id(2).slice(0, 12)],
      ["system.slice/nginx.service", "nginx.service"],
      [id(1), "web-stress.1.xyz"],
    ]);
    const web = entries[2];
    expect(web).toMatchObject({
      cpuUsec: 1000,
      cpuLimitCores: 0.5,
      memoryBytes: 500,
      memoryLimitBytes: 1000,
      service: "web-stress",
      labels: { tier: "web" },
    });
    expect(web?.netRxBytes).toBeGreaterThanOrEqual(0);
    expect(entries[1]?.memoryLimitBytes).toBeGreaterThan(0);
  });

  it("reads cgroup v1 hosts: the memory hierarchy's leaves, CPU from cpuacct and cpu at the same path", async () => {
    const mount = join(dir, "v1");
    const write = async (controller: string, path: string, files: Record<string, string>) => {
      await mkdir(join(mount, controller, path), { recursive: true });
      for (const [name, text] of Object.entries(files))
        await writeFile(join(mount, controller, path, name), text);
    };
    await write("memory", "", { "memory.usage_in_bytes": "999999\n" });
    await write("memory", "docker", { "memory.usage_in_bytes": "999\n" });
    await write("memory", `docker/${id(7)}`, {
      "memory.usage_in_bytes": "600\n",
      "memory.limit_in_bytes": "1000\n",
      "memory.stat": "cache 150\ninactive_file 3\ntotal_inactive_file 100\n",
      "cgroup.procs": `${process.pid}\n`,
    });
    await write("memory", "system.slice/cron.service", {
      "memory.usage_in_bytes": "50\n",
      "memory.limit_in_bytes": "9223372036854771712\n",
    });
    await write("cpuacct", `docker/${id(7)}`, { "cpuacct.usage": "2500000\n" });
    await write("cpuacct", "system.slice/cron.service", { "cpuacct.usage": "1000\n" });
    await write("cpu", `docker/${id(7)}`, {
      "cpu.cfs_quota_us": "150000\n",
      "cpu.cfs_period_us": "100000\n",
    });
    await write("cpu", "system.slice/cron.service", {
      "cpu.cfs_quota_us": "-1\n",
      "cpu.cfs_period_us": "100000\n",
    });

    const source = new CgroupSource({ root: mount, dockerRoot });
    expect(source.layout).toMatchObject({ version: 1, root: join(mount, "memory") });
    const entries = source.collect().sort((a, b) => a.id.localeCompare(b.id));
    expect(entries).toHaveLength(2);
    expect(entries[0]).toMatchObject({
      id: id(7),
      name: id(7).slice(0, 12),
      cpuUsec: 2500,
      cpuLimitCores: 1.5,
      memoryBytes: 500,
      memoryLimitBytes: 1000,
    });
    expect(entries[0]?.netRxBytes).toBeGreaterThanOrEqual(0);
    expect(entries[1]).toMatchObject({
      id: "system.slice/cron.service",
      cpuUsec: 1,
      cpuLimitCores: undefined,
    });
    // No limit in v1 is a huge number: the host's memory stands in, as without memory.max in v2.
    expect(entries[1]?.memoryLimitBytes).toBeLessThan(2 ** 60);
  });

  it("skips a cgroup whose files vanish or hold garbage", async () => {
    await cgroup("system.slice/ok.service", { usageUsec: 1, memory: 1 });
    await cgroup("system.slice/bad.service", { usageUsec: 1, memory: 1 });
    await writeFile(join(root, "system.slice", "bad.service", "cpu.stat"), "nonsense\n");
    const source = new CgroupSource({ root, dockerRoot });
    expect(source.collect().map((entry) => entry.name)).toEqual(["ok.service"]);
    expect(new CgroupSource({ root: join(dir, "missing") }).collect()).toEqual([]);
  });

  it("samples 100 containers in milliseconds and turns counters into rates", async () => {
    for (let n = 0; n < 100; n++)
      await cgroup(`system.slice/docker-${id(n)}.scope`, { usageUsec: 0, memory: 100 });
    let time = 0;
    const sampler = new Sampler({ source: new CgroupSource({ root, dockerRoot }), now: () => time });
    sampler.sample();
    for (let n = 0; n < 100; n++) {
      await writeFile(
        join(root, `system.slice/docker-${id(n)}.scope`, "cpu.stat"),
        `usage_usec ${n * 1000}\n`,
      );
    }
    time = 100;
    const started = performance.now();
    sampler.sample();
    const elapsed = performance.now() - started;
    const report = sampler.report();
    expect(report.containers).toHaveLength(100);
    expect(report.containers.find((entry) => entry.id === id(50))?.cpu_percent).toBe(50);
    // Generous bound for a loaded CI box; typically 2–5 ms.
    expect(elapsed).toBeLessThan(250);
  });
});
