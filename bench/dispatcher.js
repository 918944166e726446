/**
 * The client dispatcher against undici's BalancedPool, in one run, rounds
 * interleaved so both see the same machine:
 *
 * - overhead: one fast backend, a closed loop of BENCH_DISPATCHER_CONCURRENCY
 *   requests in flight through `dispatcher.request()` for BENCH_DISPATCHER_MS
 *   per round; req/s and µs per request, and BalancedDispatcher's req/s over
 *   BalancedPool's (goal ≥ 0.90, i.e. within 10%). A plain undici Pool is the
 *   floor both are measured against.
 * - tail: four backends, one answering after BENCH_DISPATCHER_SLOW_MS; p50 and
 *   p99 per client, and each algorithm's p99 over BalancedPool's (goal ≤ 0.5).
 *
 * Backends are child processes (bench/lib/backend-server.js). Writes
 * bench/results/dispatcher-latest.md and prints it.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { BalancedPool, Pool } from "undici";
import { BalancedDispatcher } from "../dist/dispatcher.js";
import { startChild, stopAll, waitReady } from "./lib/children.js";
import { envInt, envList } from "./lib/env.js";
import { fixed, kilo, markdownTable, quantile, ratio } from "./lib/stats.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const ROUNDS = envInt("BENCH_DISPATCHER_ROUNDS", 3);
const ROUND_MS = envInt("BENCH_DISPATCHER_MS", 2000);
const CONCURRENCY = envInt("BENCH_DISPATCHER_CONCURRENCY", 32);
const SLOW_MS = envInt("BENCH_DISPATCHER_SLOW_MS", 50);
const TAIL_ALGORITHMS = envList("BENCH_DISPATCHER_ALGORITHMS", ["round-robin", "p2c", "peak-ewma", "alpha1"]);
const CONNECTIONS = 64;

async function startBackend(delayMs) {
  const handle = startChild({
    name: `backend${delayMs ? ` (${delayMs} ms)` : ""}`,
    command: process.execPath,
    args: [here("./lib/backend-server.js"), "--delay-ms", String(delayMs)],
    ipc: true,
  });
  const ready = await waitReady(handle);
  return `127.0.0.1:${ready.port}`;
}

/** Runs a closed loop of CONCURRENCY requests for ROUND_MS; returns the count and every latency (ms). */
async function closedLoop(dispatcher, origin) {
  const latencies = [];
  const deadline = performance.now() + ROUND_MS;
  const worker = async () => {
    while (performance.now() < deadline) {
      const started = performance.now();
      const { body } = await dispatcher.request({ origin, path: "/", method: "GET" });
      await body.dump();
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { seconds: (performance.now() - started) / 1000, latencies };
}

/** Each client's rounds, interleaved; a warm-up round first that is not counted. */
async function measure(clients) {
  const results = new Map(
    clients.map((client) => [client.label, { requests: 0, seconds: 0, latencies: [] }]),
  );
  for (const client of clients) await closedLoop(client.dispatcher, client.origin);
  for (let round = 0; round < ROUNDS; round++) {
    for (const client of clients) {
      const run = await closedLoop(client.dispatcher, client.origin);
      const total = results.get(client.label);
      total.requests += run.latencies.length;
      total.seconds += run.seconds;
      for (const latency of run.latencies) total.latencies.push(latency);
    }
  }
  return results;
}

function balancedDispatcher(backends, algorithm) {
  return new BalancedDispatcher({
    services: { svc: { backends, algorithm, poolOptions: { connections: CONNECTIONS } } },
  });
}

async function overhead() {
  const backend = await startBackend(0);
  const origin = `http://${backend}`;
  const clients = [
    { label: "undici Pool (floor)", dispatcher: new Pool(origin, { connections: CONNECTIONS }), origin },
    {
      label: "undici BalancedPool",
      dispatcher: new BalancedPool([origin], { connections: CONNECTIONS }),
      origin,
    },
    {
      label: "BalancedDispatcher",
      dispatcher: balancedDispatcher([backend], "round-robin"),
      origin: "http://svc",
    },
  ];
  const results = await measure(clients);
  for (const client of clients) await client.dispatcher.close();
  const rps = (label) => results.get(label).requests / results.get(label).seconds;
  const reference = rps("undici BalancedPool");
  const rows = clients.map(({ label }) => {
    const r = results.get(label);
    return [
      label,
      kilo(rps(label)),
      fixed(1e6 / rps(label), 1),
      fixed(quantile(r.latencies, 0.99), 2),
      ratio(rps(label), reference),
    ];
  });
  return markdownTable(
    ["client", "req/s", "µs per request (wall ÷ requests)", "p99 ms", "req/s ÷ BalancedPool"],
    rows,
  );
}

async function tail() {
  const backends = [
    await startBackend(0),
    await startBackend(0),
    await startBackend(0),
    await startBackend(SLOW_MS),
  ];
  const origins = backends.map((backend) => `http://${backend}`);
  const clients = [
    {
      label: "undici BalancedPool",
      dispatcher: new BalancedPool(origins, { connections: CONNECTIONS }),
      origin: origins[0],
    },
    ...TAIL_ALGORITHMS.map((algorithm) => ({
      label: `BalancedDispatcher ${algorithm}`,
      dispatcher: balancedDispatcher(backends, algorithm),
      origin: "http://svc",
    })),
  ];
  const results = await measure(clients);
  const reference = quantile(results.get("undici BalancedPool").latencies, 0.99);
  const rows = clients.map(({ label, dispatcher }) => {
    const r = results.get(label);
    const p99 = quantile(r.latencies, 0.99);
    const hedges = dispatcher instanceof BalancedDispatcher ? String(dispatcher.stats().svc.hedges) : "—";
    return [
      label,
      kilo(r.requests / r.seconds),
      fixed(quantile(r.latencies, 0.5), 2),
      fixed(p99, 2),
      ratio(p99, reference),
      hedges,
    ];
  });
  for (const client of clients) await client.dispatcher.close();
  return markdownTable(["client", "req/s", "p50 ms", "p99 ms", "p99 ÷ BalancedPool", "hedges"], rows);
}

try {
  const header = `${ROUNDS} interleaved rounds of ${ROUND_MS} ms per client after one warm-up round, ${CONCURRENCY} requests in flight, ${CONNECTIONS} connections per backend, Node ${process.version}`;
  const text = [
    "# Client dispatcher vs undici BalancedPool",
    "",
    header,
    "",
    "## Overhead: one fast backend (goal: BalancedDispatcher ≥ 0.90 × BalancedPool req/s)",
    "",
    await overhead(),
    "",
    `## Tail: four backends, one answering after ${SLOW_MS} ms (goal: p99 ≤ 0.5 × BalancedPool's)`,
    "",
    await tail(),
    "",
  ].join("\n");
  console.log(text);
  await mkdir(here("./results/"), { recursive: true });
  await writeFile(path.join(here("./results/"), "dispatcher-latest.md"), text);
} finally {
  await stopAll();
}
