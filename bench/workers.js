/**
 * Throughput of `switchyard proxy --workers 1` against `--workers 2` (issue:
 * "npm run bench reports throughput with 1 and 2 workers as a ratio"). Both
 * run as users run them (the built CLI with a config file), round-robin over
 * one node:http backend, loaded by autocannon in its own process with
 * BENCH_CONNECTIONS connections; runs interleaved (1, 2, 1, 2, ...) so drift
 * hits both alike, median of BENCH_ROUNDS rounds. Nothing is pinned: the
 * workers, the backend and the load generator share the machine's cores, so
 * on a 2-core box the second worker competes with them and the ratio shows
 * what `--workers` buys there, not on a larger host.
 *
 * Writes bench/results/workers-latest.md and prints it.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { request, startChild, stopAll, waitReady } from "./lib/children.js";
import { envInt } from "./lib/env.js";
import { fixed, markdownTable, median, ratio } from "./lib/stats.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const BIN = here("../bin/switchyard.js");
const RESULTS = here("./results/workers-latest.md");

/** Starts the CLI proxy with `workers` workers; resolves with its port once it listens. */
async function startProxy(dir, upstreamPort, workers) {
  const config = path.join(dir, `workers-${workers}.yaml`);
  await writeFile(
    config,
    [
      "listeners: [{ name: web, listen: 127.0.0.1:0, pool: main }]",
      `pools: { main: { algorithm: round-robin, backends: [{ address: "127.0.0.1:${upstreamPort}" }] } }`,
      "log: { level: info }",
    ].join("\n"),
  );
  const child = spawn(process.execPath, [BIN, "proxy", "-c", config, "--workers", String(workers)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const wanted = workers > 1 ? "cluster listening" : "listening";
  const port = await new Promise((resolve, reject) => {
    let pending = "";
    const timer = setTimeout(() => reject(new Error(`--workers ${workers} did not start`)), 20_000);
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const entry = JSON.parse(line);
        if (entry.msg === wanted) {
          clearTimeout(timer);
          resolve(Number(entry.address.split(":").pop()));
        }
      }
    });
    child.once("exit", (code) => reject(new Error(`--workers ${workers} exited (${code})`)));
  });
  return { child, port };
}

async function stopProxy(proxy) {
  const exited = new Promise((resolve) => proxy.child.once("exit", resolve));
  proxy.child.kill("SIGTERM");
  await exited;
}

export async function runWorkersBench() {
  const durationSec = envInt("BENCH_DURATION", 10);
  const rounds = envInt("BENCH_ROUNDS", 3);
  const connections = envInt("BENCH_CONNECTIONS", 64);
  const dir = await mkdtemp(path.join(os.tmpdir(), "switchyard-bench-workers-"));
  const proxies = new Map();
  try {
    const backend = startChild({
      name: "backend",
      command: process.execPath,
      args: [here("./lib/backend-server.js")],
      ipc: true,
    });
    const { port: upstreamPort } = await waitReady(backend);
    const load = startChild({
      name: "autocannon",
      command: process.execPath,
      args: [here("./lib/load-worker.js")],
      ipc: true,
    });
    await waitReady(load);
    for (const workers of [1, 2]) proxies.set(workers, await startProxy(dir, upstreamPort, workers));

    const run = async (workers, seconds) => {
      const url = `http://127.0.0.1:${proxies.get(workers).port}/`;
      return request(load, { type: "run", url, connections, durationSec: seconds }, (seconds + 30) * 1000);
    };
    for (const workers of proxies.keys()) await run(workers, Math.min(3, durationSec));
    const results = new Map([...proxies.keys()].map((workers) => [workers, []]));
    for (let round = 0; round < rounds; round++) {
      for (const workers of proxies.keys()) {
        const result = await run(workers, durationSec);
        results.get(workers).push(result);
        console.log(
          `round ${round + 1}: --workers ${workers}: ${fixed(result.rps, 0)} req/s, p99 ${result.p99} ms, errors ${result.errors + result.non2xx}`,
        );
      }
    }

    const summary = [...results].map(([workers, runs]) => ({
      workers,
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      errors: runs.reduce((total, r) => total + r.errors + r.non2xx, 0),
    }));
    const [one, two] = summary;
    const report = [
      "# Workers: `switchyard proxy --workers 1` vs `--workers 2`",
      "",
      `${new Date().toISOString()} · ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}) · Node ${process.version}`,
      "",
      markdownTable(
        ["workers", "req/s (median)", "p50 ms", "p99 ms", "errors"],
        summary.map((s) => [s.workers, fixed(s.rps, 0), s.p50, s.p99, s.errors]),
      ),
      "",
      `**2 workers reach ${ratio(two.rps, one.rps)}× the throughput of 1 worker.**`,
      "",
      `- autocannon 9 in its own process, ${connections} connections, ${durationSec} s per run, ${rounds} rounds interleaved after a warm-up; median of rounds.`,
      "- Nothing pinned: workers, backend and load generator share the cores; on a 2-core machine the second worker competes with the backend and the load generator.",
    ].join("\n");
    await writeFile(RESULTS, `${report}\n`);
    console.log(`\n${report}`);
  } finally {
    await Promise.allSettled([...proxies.values()].map(stopProxy));
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  }
}

runWorkersBench().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
