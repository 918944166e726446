/**
 * SwarmGuard's A/B, live: round-robin against `metrics` and `hybrid` on three
 * backends with uneven background load, through a real Switchyard runtime
 * whose poller queries agents over HTTP.
 *
 * - Backends: three `DemoBackend`s (from ../dist) with 10% / 50% / 80%
 *   background CPU load, which stretches their service time: 20 ms / (1 - load)
 *   = 22 / 40 / 100 ms of injected delay. Each serves at most CAPACITY (4)
 *   requests at once (`concurrency`) and queues the rest, as the simulated
 *   `uneven-load` scenario does: 182 / 100 / 40 req/s at most. (Without the
 *   limit a backend sent more than its slots served the excess for free, the
 *   agents' CPU figure capped at 100% hid it, and the work vanished when the
 *   traffic moved on: herding looked cheap. See the report's notes.)
 * - Agents: one small HTTP server per backend (its "node") in this process,
 *   answering `GET /metrics/containers` in the agent's format. Like a real
 *   agent it samples every second and reports the CPU of the second just
 *   ended: background load plus the request work, `(1 - load) · min(1,
 *   mean in-flight / CAPACITY)`, in-flight read from the balancer every 10 ms.
 *   Memory 30% + 10% at full request load; network from the responses sent.
 * - Runtime: `startSwitchyard` from ../dist, one HTTP listener, backends with
 *   `agent: { url, match }`, poll every 1 s, stale limit 2 s (SwarmGuard's
 *   defaults). Fresh runtime per algorithm; load starts once every agent has
 *   answered a poll.
 * - Load: open loop, one request every 1/RATE s (evenly spaced, not in
 *   bursts: autocannon's `overallRate` sends each second's quota at once),
 *   over an undici Pool of CONNECTIONS (512) keep-alive connections, enough
 *   that a backlog at a backend does not hold requests back in the client
 *   (round-robin leaves ~280 queued at the 80% backend), at 70% of the backends'
 *   spare capacity (224 req/s), for BENCH_AGENT_AB_SECONDS (default 8) per
 *   algorithm: at most SECONDS × RATE requests. Everything stays on 127.0.0.1.
 *
 * Load variance: the coefficient of variation (population stdev / mean) of the
 * backends' mean CPU utilisation over the load window, as the agents report
 * it, background included (SwarmGuard: under 15%). Decision time: the
 * balancer's `meanSelectionNs` (wall time in `select()`; SwarmGuard: < 5 ms).
 *
 * The report also gives, per algorithm, the requests each backend served in
 * each second of the run, which shows how the traffic moved.
 *
 * Writes bench/results/agent-ab-latest.md and prints it.
 * Env: BENCH_AGENT_AB_SECONDS (default 8), BENCH_AGENT_AB_RATE (default 224),
 * BENCH_AGENT_AB_CONNECTIONS (default 512).
 */

import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { Pool } from "undici";
import { envInt } from "./lib/env.js";
import { fixed, markdownTable, quantile } from "./lib/stats.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const DIST = here("../dist/index.js");
const RESULTS_DIR = here("./results/");
const { AGENT_AB_ALGORITHMS, DemoBackend, parseConfig, startSwitchyard } = await import(DIST);

const SECONDS = envInt("BENCH_AGENT_AB_SECONDS", 8);
const RATE = envInt("BENCH_AGENT_AB_RATE", 224);
const CONNECTIONS = envInt("BENCH_AGENT_AB_CONNECTIONS", 512);
const CAPACITY = 4;
const BASE_MS = 20;
const RESPONSE_BYTES = 400;
const LOCALHOST = "127.0.0.1";
const BACKENDS = [
  { id: "b1", load: 0.1 },
  { id: "b2", load: 0.5 },
  { id: "b3", load: 0.8 },
];

/** One node: its demo backend and a fake agent reporting the backend's container. */
async function startNode(spec) {
  const delayMs = Math.round(BASE_MS / (1 - spec.load));
  const backend = new DemoBackend({ name: spec.id, delayMs, concurrency: CAPACITY });
  const address = await backend.listen();
  const node = {
    ...spec,
    delayMs,
    backend,
    address: `${address.host}:${address.port}`,
    /** Reads the balancer's in-flight count for this backend; set per runtime. */
    inFlight: () => 0,
    // Busy integral for the current report interval and for the whole load window.
    windowSum: 0,
    windowSamples: 0,
    totalSum: 0,
    totalSamples: 0,
    servedAtLastReport: 0,
    served: () => 0,
    /** Requests served in each report interval of the current run. */
    timeline: [],
    report: { cpu: spec.load * 100, memory: 30, network: 0 },
  };
  const agent = http.createServer((req, res) => {
    if (req.url !== "/metrics/containers") return res.writeHead(404).end();
    const now = Date.now() / 1000;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        node: `node-${spec.id}`,
        timestamp: now,
        containers: [
          {
            id: `container-${spec.id}`,
            name: `web.${spec.id}`,
            cpu_percent: node.report.cpu,
            memory_percent: node.report.memory,
            memory_bytes: 64 * 1024 * 1024,
            net_rx_bytes_per_sec: node.report.network / 4,
            net_tx_bytes_per_sec: node.report.network,
            timestamp: now,
          },
        ],
      }),
    );
  });
  await new Promise((resolve) => agent.listen(0, LOCALHOST, resolve));
  node.agent = agent;
  node.agentUrl = `http://${LOCALHOST}:${agent.address().port}`;
  return node;
}

const busyFraction = (inFlight) => Math.min(1, inFlight / CAPACITY);
const cpuOf = (node, busy) => 100 * (node.load + (1 - node.load) * busy);

/** Samples in-flight every 10 ms; every second, publishes each agent's report of the second just ended. */
function startAgents(nodes) {
  const sampler = setInterval(() => {
    for (const node of nodes) {
      const busy = busyFraction(node.inFlight());
      node.windowSum += busy;
      node.windowSamples++;
      node.totalSum += busy;
      node.totalSamples++;
    }
  }, 10);
  const reporter = setInterval(() => {
    for (const node of nodes) {
      const busy = node.windowSamples === 0 ? 0 : node.windowSum / node.windowSamples;
      const served = node.served();
      node.report = {
        cpu: cpuOf(node, busy),
        memory: 30 + 10 * busy,
        network: (served - node.servedAtLastReport) * RESPONSE_BYTES,
      };
      node.timeline.push(served - node.servedAtLastReport);
      node.servedAtLastReport = served;
      node.windowSum = 0;
      node.windowSamples = 0;
    }
  }, 1000);
  return () => {
    clearInterval(sampler);
    clearInterval(reporter);
  };
}

/** Sends SECONDS × RATE GET / evenly spaced; resolves with the latencies (ms) and the failures. */
async function generateLoad(port) {
  const pool = new Pool(`http://${LOCALHOST}:${port}`, { connections: CONNECTIONS });
  const latencies = [];
  let errors = 0;
  const pending = new Set();
  const total = SECONDS * RATE;
  const gapMs = 1000 / RATE;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const wait = started + i * gapMs - performance.now();
    if (wait >= 1) await sleep(wait);
    const sent = performance.now();
    const answer = pool
      .request({ path: "/", method: "GET", headersTimeout: 30_000, bodyTimeout: 30_000 })
      .then(
        async (response) => {
          await response.body.dump();
          if (response.statusCode === 200) latencies.push(performance.now() - sent);
          else errors++;
        },
        () => {
          errors++;
        },
      );
    pending.add(answer);
    answer.finally(() => pending.delete(answer));
  }
  await Promise.all(pending);
  const elapsedS = (performance.now() - started) / 1000;
  await pool.close();
  return { latencies, errors, rps: latencies.length / elapsedS };
}

async function runAlgorithm(nodes, { label, algorithm }) {
  const runtime = await startSwitchyard(
    parseConfig({
      listeners: [{ name: "web", listen: `${LOCALHOST}:0`, pool: "web" }],
      pools: {
        web: {
          algorithm,
          agents: { pollIntervalMs: 1000, timeoutMs: 500, cacheTtlMs: 2000, fallback: "round-robin" },
          backends: nodes.map((node) => ({
            id: node.id,
            address: node.address,
            agent: { url: node.agentUrl, match: `web.${node.id}` },
          })),
        },
      },
    }),
  );
  try {
    const balancer = runtime.balancers.get("web");
    const poller = runtime.agents.get("web").poller;
    for (const node of nodes) {
      const backend = balancer.pool.require(node.id);
      node.inFlight = () => backend.inFlight;
      node.served = () => balancer.stats().backends.find((b) => b.id === node.id)?.requests ?? 0;
      node.servedAtLastReport = node.served();
    }
    // Let the agents see an idle second, then wait for every agent's first answer.
    const deadline = Date.now() + 5_000;
    while (!poller.stats().agents.every((agent) => agent.successes > 0)) {
      if (Date.now() > deadline) throw new Error("agents never answered the poller");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const node of nodes) {
      node.totalSum = 0;
      node.totalSamples = 0;
      node.timeline = [];
    }
    const port = runtime.listeners[0].port;
    const before = Object.fromEntries(balancer.stats().backends.map((b) => [b.id, b.requests]));
    const load = await generateLoad(port);
    const stats = balancer.stats();
    const requests = stats.backends.map((b) => ({ id: b.id, requests: b.requests - (before[b.id] ?? 0) }));
    const total = requests.reduce((sum, b) => sum + b.requests, 0);
    const cpu = nodes.map((node) =>
      cpuOf(node, node.totalSamples === 0 ? 0 : node.totalSum / node.totalSamples),
    );
    const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
    const cv = Math.sqrt(cpu.reduce((sum, value) => sum + (value - mean) ** 2, 0) / cpu.length) / mean;
    const cache = poller.stats().cache;
    const seconds = Math.min(...nodes.map((node) => node.timeline.length));
    return {
      label,
      timeline: Array.from({ length: seconds }, (_, second) =>
        nodes.map((node) => node.timeline[second]).join("/"),
      ),
      shares: nodes.map(
        (node) => (requests.find((b) => b.id === node.id)?.requests ?? 0) / Math.max(1, total),
      ),
      cpu,
      variancePercent: cv * 100,
      p50: quantile(load.latencies, 0.5),
      p99: quantile(load.latencies, 0.99),
      rps: load.rps,
      errors: load.errors,
      total,
      decisionNs: stats.meanSelectionNs,
      fallbacks: cache.fallbacks,
      hitRate: cache.hitRate,
    };
  } finally {
    await runtime.close(0);
  }
}

const nodes = [];
let stopAgents = () => {};
try {
  for (const spec of BACKENDS) nodes.push(await startNode(spec));
  stopAgents = startAgents(nodes);
  const results = [];
  for (const entry of AGENT_AB_ALGORITHMS) {
    console.log(`running ${entry.label} for ${SECONDS} s at ${RATE} req/s ...`);
    results.push(await runAlgorithm(nodes, entry));
  }
  const headers = [
    "algorithm",
    ...nodes.map((node) => `share ${node.id} (${node.load * 100}% bg)`),
    ...nodes.map((node) => `CPU ${node.id}`),
    "load variance (CV)",
    "< 15%",
    "p50 ms",
    "p99 ms",
    "req/s",
    "errors",
    "decision ns",
    "fallbacks",
    "fresh reads",
  ];
  const rows = results.map((r) => [
    r.label,
    ...r.shares.map((share) => `${fixed(share * 100)}%`),
    ...r.cpu.map((cpu) => `${fixed(cpu)}%`),
    `${fixed(r.variancePercent)}%`,
    r.variancePercent < 15 ? "yes" : "no",
    fixed(r.p50),
    fixed(r.p99),
    fixed(r.rps),
    String(r.errors),
    String(r.decisionNs),
    String(r.fallbacks),
    `${fixed(r.hitRate * 100)}%`,
  ]);
  const report = [
    "# Agent A/B (live): round-robin vs metrics vs hybrid on uneven background load",
    "",
    `${new Date().toISOString()} · Node ${process.version} · ${os.cpus().length} CPUs · ${SECONDS} s per algorithm at ${RATE} req/s evenly spaced, ${CONNECTIONS} keep-alive connections`,
    "",
    `Backends: DemoBackend with ${nodes.map((n) => `${n.id} ${n.load * 100}% background → ${n.delayMs} ms`).join(", ")}; ${CAPACITY} request slots each (\`concurrency\`; more wait in a queue). Fake agents report CPU = background + (1 − background) · min(1, in-flight / ${CAPACITY}) over the last second; the runtime polls them every 1 s (stale after 2 s).`,
    "",
    "Load variance = coefficient of variation of the backends' mean CPU over the load window (SwarmGuard: under 15%). Decision ns = `balancer.stats().meanSelectionNs` (SwarmGuard: under 5 ms = 5 000 000 ns). `hybrid` ends a lease when its request finishes (`releaseOnFinish`); `hybrid (30 s leases)` is SwarmGuard's literal 30 s lease, where the lease count dominates the score and the split is round-robin's.",
    "",
    markdownTable(headers, rows),
    "",
    "Between two polls an agent's figures do not change. Taken as they are (`metrics (no prediction)`, SwarmGuard's literal rule), they send every request to the one backend that looked least loaded until the next report: the traffic moves as a herd, a second at a time (Mitzenmacher, \"How useful is old information?\", 2000), overloading each backend in turn; the queues it leaves behind even out the CPU figures only at the cost of seconds of latency, and how even depends on where the herd lands. `metrics` (default `predict: true`) scales each backend's figures by the requests sent to it since the report (× (1 + sent since / sent over the interval before)), so each second's traffic is interleaved and the split settles where the figures are equal. `hybrid` spreads the work with its lease term instead.",
    "",
    "## Requests served per second (b1/b2/b3)",
    "",
    markdownTable(
      ["second", ...results.map((r) => r.label)],
      Array.from({ length: Math.max(...results.map((r) => r.timeline.length)) }, (_, second) => [
        String(second + 1),
        ...results.map((r) => r.timeline[second] ?? ""),
      ]),
    ),
    "",
  ].join("\n");
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(`${RESULTS_DIR}agent-ab-latest.md`, report);
  console.log(`\n${report}`);
} finally {
  stopAgents();
  await Promise.allSettled(
    nodes.flatMap((node) => [node.backend.close(), new Promise((resolve) => node.agent.close(resolve))]),
  );
}
