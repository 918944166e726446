/**
 * `switchyard agent` as users run it: the compiled CLI (built once for this
 * file) on 127.0.0.1 with an OS-chosen port, reporting processes matched by
 * `--processes`. Two child processes are measured: one burning CPU in a
 * bounded loop, one idle. Every process started here is killed at the end.
 * SwarmGuard's API_PORT and API_ENABLED are honoured.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { afterEach, describe, expect, it } from "vitest";
import { AgentPoller } from "../src/agent/poller.js";
import type { ContainersReport } from "../src/agent/sampler.js";
import { createBalancer } from "../src/balancer/balancer.js";
import { Pool } from "../src/core/pool.js";
import { ResourceReportStore } from "../src/load/resource-reports.js";
import { killLaunched, launch, logLine, run } from "./helpers/cli.js";
import { closedPort, request } from "./helpers/servers.js";

const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "switchyard.js");
const MARK = `sy-agent-test-${process.pid}-${Date.now()}`;
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
});

function startChild(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], cwd: ROOT });
  children.add(child);
  return child;
}

/** Starts the agent; resolves with its process and port once it logs `agent listening`. */
/** CPU time (user + system) a process has used, in seconds, from /proc (clock ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function startAgent(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = startChild([BIN, "agent", "--listen", "127.0.0.1:0", ...args]);
  let output = "";
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`agent did not start:\n${output}`)), 10_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const match = /"address":"127\.0\.0\.1:(\d+)".*"msg":"agent listening"/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.on("exit", () => reject(new Error(`agent exited:\n${output}`)));
  });
  return { child, port };
}

async function report(port: number): Promise<ContainersReport> {
  const response = await request({ port, path: "/metrics/containers" });
  expect(response.status).toBe(200);
  expect(response.headers["content-type"]).toBe("application/json");
  return JSON.parse(response.text) as ContainersReport;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolveExit) => child.on("exit", (code) => resolveExit(code)));
}

describe("switchyard agent --processes", () => {
  it("reports a CPU-burning process with clearly higher cpu_percent than an idle one", async () => {
    const busy = startChild([
      "-e",
      `/*${MARK}-busy*/ const end = Date.now() + 15000; while (Date.now() < end) {}`,
    ]);
    const idle = startChild(["-e", `/*${MARK}-idle*/ setTimeout(() => {}, 15000)`]);
    const { child: agent, port } = await startAgent(["--processes", MARK, "--interval", "250"]);

    // Wait (bounded) until both children have two samples, then read a few reports.
    let latest: ContainersReport | undefined;
    for (let i = 0; i < 40; i++) {
      latest = await report(port);
      if (latest.containers.length === 2) break;
      await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    }
    expect(latest?.source).toBe("processes");
    expect(latest?.containers.map((entry) => entry.id).sort()).toEqual(
      [String(busy.pid), String(idle.pid)].sort(),
    );
    expect(latest?.containers.map((entry) => entry.id)).not.toContain(String(agent.pid));

    let busyMax = 0;
    let idleMax = 0;
    // What the busy loop really got over the same window, from the kernel: on a loaded machine
    // (the rest of the suite beside it) that may be far from a whole core.
    const cpuStart = cpuSeconds(busy.pid as number);
    const windowStart = performance.now();
    for (let i = 0; i < 4; i++) {
      await new Promise((resolveWait) => setTimeout(resolveWait, 300));
      for (const entry of (await report(port)).containers) {
        if (entry.id === String(busy.pid)) busyMax = Math.max(busyMax, entry.cpu_percent);
        if (entry.id === String(idle.pid)) idleMax = Math.max(idleMax, entry.cpu_percent);
        expect(entry.memory_bytes).toBeGreaterThan(1_000_000);
        expect(entry.memory_percent).toBeGreaterThan(0);
        expect(entry.net_rx_bytes_per_sec).toBeGreaterThanOrEqual(0);
        expect(entry.timestamp).toBeGreaterThan(1_600_000_000);
      }
    }
    const truePercent =
      ((cpuSeconds(busy.pid as number) - cpuStart) * 100_000) / (performance.now() - windowStart);
    // The busiest report is at least about what the kernel says the loop got, and clearly above idle.
    expect(busyMax).toBeGreaterThan(truePercent * 0.6);
    expect(idleMax).toBeLessThan(10);
    expect(busyMax).toBeGreaterThan(idleMax + Math.min(20, truePercent / 2));

    // The balancer side reads the real agent: the poller maps each process to a backend by its command line.
    const pool = new Pool([
      { id: "busy", address: "127.0.0.1:1" },
      { id: "idle", address: "127.0.0.1:2" },
    ]);
    const store = new ResourceReportStore();
    store.follow(pool);
    const url = `http://127.0.0.1:${port}`;
    const poller = new AgentPoller({
      pool,
      store,
      targets: { busy: { url, match: `/${MARK}-busy/` }, idle: { url, match: `/${MARK}-idle/` } },
    });
    await poller.pollOnce();
    await poller.stop();
    expect(poller.stats().agents[0]).toMatchObject({ successes: 1, entries: 2, unmatched: [] });
    expect(store.read("busy")?.cpu).toBeGreaterThan(20);
    const balancer = createBalancer({ pool, algorithm: "metrics", resourceReports: store });
    expect(balancer.select({}).backend.id).toBe("idle");

    // A process that exits is dropped, never an error.
    idle.kill("SIGKILL");
    await exitOf(idle);
    await new Promise((resolveWait) => setTimeout(resolveWait, 600));
    expect((await report(port)).containers.map((entry) => entry.id)).toEqual([String(busy.pid)]);

    const health = await request({ port, path: "/health" });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({
      status: "ok",
      source: "processes",
      intervalMs: 250,
      failures: 0,
    });
    expect((await request({ port, path: "/nope" })).status).toBe(404);
    expect((await request({ port, path: "/metrics/containers", method: "POST" })).status).toBe(405);

    agent.kill("SIGTERM");
    expect(await exitOf(agent)).toBe(0);
  });

  it("rejects an invalid pattern as a usage error", async () => {
    const child = startChild([BIN, "agent", "--listen", "127.0.0.1:0", "--processes", "(unclosed"]);
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    expect(await exitOf(child)).toBe(2);
    expect(stderr).toMatch(/--processes: expected a regular expression/);
  });
});

describe("switchyard agent with SwarmGuard's environment", () => {
  afterEach(() => killLaunched());

  it("listens on API_PORT when --listen is not given", async () => {
    const port = await closedPort();
    const agent = launch(["agent", "--processes", MARK], { API_PORT: String(port) });
    const listening = JSON.parse(await agent.line(logLine("agent listening"))) as { address: string };
    expect(listening.address).toBe(`127.0.0.1:${port}`);
    expect(Array.isArray((await report(port)).containers)).toBe(true);
    agent.process.kill("SIGTERM");
    expect(await agent.exit()).toBe(0);
  });

  it("serves nothing with API_ENABLED=false, stays up until a signal, and refuses a non-boolean", async () => {
    const agent = launch(["agent", "--listen", "127.0.0.1:0"], { API_ENABLED: "false" });
    await agent.line(
      logLine("agent API disabled (API_ENABLED=false): serving and sampling nothing until stopped"),
    );
    agent.process.kill("SIGTERM");
    expect(await agent.exit()).toBe(0);
    expect(agent.stdout()).not.toContain("agent listening");
    const refused = await run(["agent"], { API_ENABLED: "maybe" });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('API_ENABLED: expected true or false, got "maybe"');
  });
});
