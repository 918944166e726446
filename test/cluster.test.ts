/**
 * `switchyard proxy --workers 2` as users run it: two worker processes share
 * the listener, the primary's admin API merges their figures and sends writes
 * to both, and a worker killed under load is restarted (it catches up on the
 * admin writes it missed) while the client loses at most the requests that
 * worker had in flight. The primary checks the Host of admin requests and
 * hands its workers one generated affinity secret. The merged `/metrics`
 * passes promtool, and its latency histograms are the workers' added up.
 */

import { readFile } from "node:fs/promises";
import http from "node:http";
import { availableParallelism } from "node:os";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { killLaunched, type Launched, launch, logLine } from "./helpers/cli.js";
import { parseExposition, readHistogram } from "./helpers/exposition.js";
import { useTempDir } from "./helpers/fixtures.js";
import { startServer, type TestServer } from "./helpers/servers.js";
import { runTool } from "./helpers/tools.js";

const TOKEN = "cluster-test-token";
const dir = useTempDir("switchyard-cluster-");
let backend: TestServer;

beforeAll(async () => {
  // A few milliseconds per answer, so a killed worker has requests in flight.
  backend = await startServer((_req, res) => setTimeout(() => res.end("ok"), 3));
});

afterEach(() => killLaunched());

afterAll(async () => {
  await backend.close();
});

interface Cluster {
  child: Launched;
  proxy: string;
  admin: string;
}

async function startCluster(
  pool = `{ algorithm: round-robin, backends: [{ id: one, address: "${backend.address}" }] }`,
): Promise<Cluster> {
  const config = await dir.file(
    "switchyard.yaml",
    [
      "listeners:",
      "  - { name: web, listen: 127.0.0.1:0, pool: main }",
      "pools:",
      `  main: ${pool}`,
      `admin: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
    ].join("\n"),
  );
  const child = launch(["proxy", "-c", config, "--workers", "2"]);
  const adminLine = child.line(logLine("cluster admin API ready"));
  const listening = JSON.parse(await child.line(logLine("cluster listening"))) as { address: string };
  const admin = JSON.parse(await adminLine) as { port: number };
  return { child, proxy: `http://${listening.address}`, admin: `http://127.0.0.1:${admin.port}` };
}

/** GET on a fresh connection (node:cluster hands out connections, not requests). */
function getOnce(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.setTimeout(5_000, () => request.destroy(new Error("timed out")));
    request.on("error", reject);
  });
}

/** GET on a fresh connection: the body and the affinity cookie set, if any. */
function getText(
  url: string,
  headers: http.OutgoingHttpHeaders = {},
): Promise<{ body: string; cookie?: string }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => {
        const cookie = /^sy_affinity=([^;]+)/.exec(response.headers["set-cookie"]?.[0] ?? "")?.[1];
        resolve(cookie === undefined ? { body } : { body, cookie });
      });
    });
    request.setTimeout(5_000, () => request.destroy(new Error("timed out")));
    request.on("error", reject);
  });
}

async function json<T>(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; headers: Headers; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, headers: response.headers, body: (await response.json()) as T };
}

interface Stats {
  pools: { main: { algorithm: string; requests: number; backends: { id: string; weight: number }[] } };
  listeners: { web: { requests: number } };
  cluster: { workers: { index: number; pid: number; restarts: number }[]; restarts: number };
}

describe("switchyard proxy --workers 2", () => {
  it("shares the listener between workers and merges their stats and metrics", async () => {
    const cluster = await startCluster();
    const statuses = await Promise.all(Array.from({ length: 40 }, () => getOnce(`${cluster.proxy}/`)));
    expect(statuses.every((status) => status === 200)).toBe(true);

    const perWorker = await Promise.all(
      [1, 2].map(async (worker) => (await json<Stats>(`${cluster.admin}/api/stats?worker=${worker}`)).body),
    );
    const [first = 0, second = 0] = perWorker.map((stats) => stats.listeners.web.requests);
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(0);

    const merged = (await json<Stats>(`${cluster.admin}/api/stats`)).body;
    expect(merged.listeners.web.requests).toBe(40);
    expect(merged.pools.main.requests).toBe(first + second);
    expect(merged.cluster.workers.map((worker) => worker.index)).toEqual([1, 2]);
    // Each worker's V8 helpers sized to its share of the CPUs, beside the primary's young-generation cap.
    if ("execve" in process) {
      const share = Math.max(1, Math.floor(availableParallelism() / 2));
      for (const { pid } of merged.cluster.workers) {
        const flags = (await readFile(`/proc/${pid}/cmdline`, "latin1"))
          .split("\0")
          .filter((arg) => arg.startsWith("--"));
        expect(flags.filter((flag) => /^--(v8-pool-size|max-semi-space-size)=/.test(flag))).toEqual([
          "--max-semi-space-size=8",
          `--v8-pool-size=${Math.min(4, Math.max(1, share - 1))}`,
        ]);
      }
    }
    // The TCP balancer's summary (seed 003) adds up across workers too.
    const performance = (
      await json<{ total_requests: number; success_rate: number }>(`${cluster.admin}/api/performance`)
    ).body;
    expect(performance).toMatchObject({ total_requests: first + second, success_rate: 100 });

    const metrics = await (await fetch(`${cluster.admin}/metrics`)).text();
    expect(metrics).toMatch(/^switchyard_listener_requests_total\{listener="web",pool="main"\} 40$/m);
    expect(metrics).toMatch(/^switchyard_cluster_workers 2$/m);
    // One worker's view, and one backend weight: averaged, not doubled.
    expect(metrics).toMatch(/^switchyard_backend_weight\{pool="main",backend="one"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_build_info\{version="[^"]+",node_version="v[\d.]+"\} 1$/m);
    const lint = await runTool("promtool", ["check", "metrics"], metrics);
    expect({ code: lint.code, findings: `${lint.stdout}${lint.stderr}` }).toEqual({ code: 0, findings: "" });
    // Histograms add up bucket by bucket: the merged one holds every worker's requests.
    const latency = (text: string) =>
      readHistogram(parseExposition(text), "switchyard_pool_response_duration_seconds", { pool: "main" });
    const workerLatency = await Promise.all(
      [1, 2].map(async (worker) =>
        latency(await (await fetch(`${cluster.admin}/metrics?worker=${worker}`)).text()),
      ),
    );
    const mergedLatency = latency(metrics);
    expect(mergedLatency.count).toBe(40);
    expect(mergedLatency.buckets).toEqual(
      mergedLatency.buckets.map(([le], index) => [
        le,
        (workerLatency[0]?.buckets[index]?.[1] ?? 0) + (workerLatency[1]?.buckets[index]?.[1] ?? 0),
      ]),
    );

    // The dashboard's live stream: one snapshot merged across workers.
    const events = await fetch(`${cluster.admin}/api/events`);
    expect(events.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const live = JSON.parse(await firstEvent(events)) as Stats & { algorithms: string[] };
    expect(live.listeners.web.requests).toBe(40);
    expect(live.cluster.workers).toHaveLength(2);
    expect(live.algorithms).toContain("round-robin");

    // The charts' history is sampled on the primary from the merged figures.
    const history = await waitFor(async () => {
      const kept = (
        await json<{ pools: { main?: { time: number[]; rps1s: number[] } } }>(`${cluster.admin}/api/history`)
      ).body;
      return (kept.pools.main?.time.length ?? 0) >= 2 ? kept.pools.main : undefined;
    });
    expect(history?.rps1s.length).toBe(history?.time.length);

    // A load test starts once, on the first worker (it loads every worker through the shared listener).
    const stress = await json<{ id: string }>(`${cluster.admin}/api/stress-test`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ duration: 1, concurrent: 1 }),
    });
    expect(stress.status).toBe(202);
    expect(stress.headers.get("x-switchyard-workers")).toBeNull();
    const runs = async (worker: number) =>
      (await json<{ runs: { id: string }[] }>(`${cluster.admin}/api/load-test?worker=${worker}`)).body.runs;
    expect((await runs(1)).map((run) => run.id)).toEqual([stress.body.id]);
    expect(await runs(2)).toEqual([]);

    const ready = await json<{ ready: boolean }>(`${cluster.admin}/ready`);
    expect(ready).toMatchObject({ status: 200, body: { ready: true } });

    // The primary answers only Host names it knows (DNS rebinding guard), also for one worker's view.
    for (const path of ["/api/stats", "/api/config?worker=1"]) {
      expect(await getOnce(`${cluster.admin}${path}`, { host: "attacker.example" })).toBe(421);
      expect(await getOnce(`${cluster.admin}${path}`, { host: "localhost" })).toBe(200);
    }
  });

  it("applies admin writes on every worker, and a crashed worker restarts and catches up", async () => {
    const cluster = await startCluster();
    const write = await json<{ algorithm: string }>(`${cluster.admin}/api/strategy`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ algorithm: "least-connections" }),
    });
    expect(write.status).toBe(200);
    expect(write.headers.get("x-switchyard-workers")).toBe("2/2");
    const refused = await fetch(`${cluster.admin}/api/strategy`, {
      method: "POST",
      body: JSON.stringify({ algorithm: "random" }),
    });
    expect(refused.status).toBe(401);

    const before = (await json<Stats>(`${cluster.admin}/api/stats`)).body.cluster.workers;
    const victim = before.find((worker) => worker.index === 2);
    if (!victim) throw new Error("worker 2 is not running");

    // Bounded load (8 at a time, 400 requests); worker 2 is killed a quarter of the way in.
    let sent = 0;
    let failed = 0;
    const client = async () => {
      while (sent < 400) {
        sent++;
        if (sent === 100) process.kill(victim.pid, "SIGKILL");
        const status = await getOnce(`${cluster.proxy}/`).catch(() => 0);
        if (status !== 200) failed++;
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    // At most the killed worker's in-flight requests are lost (8 clients, so at most 8).
    expect(failed).toBeLessThanOrEqual(8);

    const restarted = await waitFor(async () => {
      const stats = (await json<Stats>(`${cluster.admin}/api/stats`)).body;
      const worker = stats.cluster.workers.find((candidate) => candidate.index === 2);
      return worker && worker.pid !== victim.pid ? stats : undefined;
    });
    expect(restarted.cluster.restarts).toBe(1);
    const replayed = (await json<Stats>(`${cluster.admin}/api/stats?worker=2`)).body;
    expect(replayed.pools.main.algorithm).toBe("least-connections");
    expect(cluster.child.stdout()).toContain("worker crashed; restarting it");
  });
  it("cookie affinity without a secret: both workers honour the cookies of one start, and warn", async () => {
    const named = await Promise.all(["a", "b", "c"].map((name) => startServer((_req, res) => res.end(name))));
    try {
      const backends = named.map((server) => `{ address: "${server.address}" }`).join(", ");
      const cluster = await startCluster(`{ backends: [${backends}], affinity: { mode: cookie } }`);
      // Each worker built its pool (and warned) before the cluster reported listening.
      expect(cluster.child.stdout().match(/cookie affinity without a secret/g)).toHaveLength(2);
      const first = await getText(`${cluster.proxy}/`);
      expect(first.cookie).toBeDefined();
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          getText(`${cluster.proxy}/`, { cookie: `sy_affinity=${first.cookie}` }),
        ),
      );
      expect(new Set(answers.map((answer) => answer.body))).toEqual(new Set([first.body]));
      const perWorker = await Promise.all(
        [1, 2].map(async (worker) => (await json<Stats>(`${cluster.admin}/api/stats?worker=${worker}`)).body),
      );
      // Connections went to both workers, so both honoured the cookie.
      for (const stats of perWorker) expect(stats.listeners.web.requests).toBeGreaterThan(0);
    } finally {
      await Promise.all(named.map((server) => server.close()));
    }
  });
});

/** The first `data:` line of a server-sent events response; then the stream is cancelled. */
async function firstEvent(response: Response): Promise<string> {
  const reader = response.body?.pipeThrough(new TextDecoderStream()).getReader();
  if (!reader) throw new Error("no body");
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before an event: ${text}`);
    text += value;
    const line = text
      .split("\n")
      .find((candidate) => candidate.startsWith("data: ") && text.includes(`${candidate}\n`));
    if (line) {
      await reader.cancel();
      return line.slice("data: ".length);
    }
  }
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("condition not met in time");
}
