/**
 * Connection rate: every request on a new connection (wrk with `Connection:
 * close`, so each response ends its connection and wrk opens the next). What
 * a proxy spends per connection — accepting, setting up, closing — rather
 * than per request; clients that do not keep connections alive, and bursts
 * of new clients, meet it. Targets: HAProxy http (nbthread 1) and Switchyard's
 * HttpProxy over the same nginx backend (kept-alive upstream connections for
 * both), Switchyard's TcpProxy and a bare Node `net` pipe (a new backend
 * connection per client connection for both). The method of bench/proxy.js:
 * each target pinned to CPU 0, nginx and wrk (-t1) to CPU 1, one warm-up run
 * per target, rounds interleaved forward and backward in turn, medians.
 *
 * Switchyard's listeners take several connections per event-loop turn only
 * where Node binds SO_REUSEPORT (22.12+ on Linux, src/core/accept-sockets.ts);
 * BENCH_NODE=path runs the Node targets on another Node binary.
 *
 * Env: BENCH_DURATION (s per run, default 4), BENCH_ROUNDS (default 4),
 * BENCH_CONNECTIONS (default 64), BENCH_NODE. Writes bench/results/connections-latest.md.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  BENCH_NODE,
  benchNodeVersion,
  LOAD_CPU,
  PINNED,
  PROXY_CPU,
  startNodeScript,
  stopAll,
} from "./lib/children.js";
import { envInt } from "./lib/env.js";
import { ensureHaproxy, haproxyVersion, startHaproxy } from "./lib/haproxy.js";
import { ensureNginx, startNginxResponder } from "./lib/nginx.js";
import { cpuSeconds } from "./lib/proc.js";
import { fixed, kilo, markdownTable, median } from "./lib/stats.js";
import { ensureWrk, runWrk } from "./lib/wrk.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const RESULTS_FILE = here("./results/connections-latest.md");

const LABELS = {
  haproxy: "HAProxy http (nbthread 1)",
  switchyard: "Switchyard HttpProxy",
  "switchyard-tcp": "Switchyard TcpProxy",
  "bare-pipe": "bare Node net pipe",
};
/** Each target's reference in the same rounds. */
const REFERENCE = { switchyard: "haproxy", "switchyard-tcp": "bare-pipe" };

const durationSec = envInt("BENCH_DURATION", 4);
const rounds = envInt("BENCH_ROUNDS", 4);
const connections = envInt("BENCH_CONNECTIONS", 64);

async function main() {
  ensureWrk();
  ensureNginx();
  ensureHaproxy();
  const nodeVersion = benchNodeVersion();
  const backend = await startNginxResponder({ cpu: LOAD_CPU });
  const haproxy = await startHaproxy({ upstreamPort: backend.port, cpu: PROXY_CPU });
  const script = (name) => here(`./lib/${name}`);
  const node = (name, file, args) =>
    startNodeScript(name, script(file), [String(backend.port), ...args], PROXY_CPU, [], BENCH_NODE);
  const started = {
    haproxy: { port: haproxy.port, pid: haproxy.handle.pid },
    switchyard: await node("switchyard", "switchyard-proxy.js", []),
    "switchyard-tcp": await node("switchyard-tcp", "switchyard-proxy.js", ["tcp"]),
    "bare-pipe": await node("bare-pipe", "bare-pipe.js", []),
  };
  const targets = Object.entries(started).map(([key, t]) => ({
    key,
    port: t.port,
    pid: t.pid ?? t.handle.pid,
    runs: [],
  }));
  const runOnce = async (target, seconds) => {
    const before = await cpuSeconds(target.pid);
    const result = await runWrk({
      url: `http://127.0.0.1:${target.port}/`,
      connections,
      durationSec: seconds,
      cpu: LOAD_CPU,
      headers: ["Connection: close"],
    });
    const cpu = (await cpuSeconds(target.pid)) - before;
    return { ...result, cpuUs: result.ok > 0 ? (cpu * 1e6) / result.ok : Number.NaN };
  };
  try {
    console.log(
      `connection rate: ${durationSec} s × ${rounds} rounds, ${connections} connections, Node ${nodeVersion}`,
    );
    for (const target of targets) await runOnce(target, Math.min(2, durationSec));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const run = await runOnce(target, durationSec);
        target.runs.push(run);
        console.log(
          `  round ${round + 1} ${LABELS[target.key]}: ${kilo(run.rps)} conn/s, ${fixed(run.cpuUs, 0)} µs CPU each, p99 ${fixed(run.p99, 1)} ms`,
        );
      }
    }
  } finally {
    await haproxy.cleanup();
    await stopAll();
    backend.cleanup?.();
  }
  await report(targets, nodeVersion);
}

async function report(targets, nodeVersion) {
  const byKey = Object.fromEntries(targets.map((t) => [t.key, t]));
  const med = (t, field) => median(t.runs.map((r) => r[field]));
  const paired = (t) => {
    const reference = byKey[REFERENCE[t.key]];
    if (reference === undefined) return "—";
    return fixed(median(t.runs.map((r, i) => r.rps / reference.runs[i].rps)), 2);
  };
  const rows = targets.map((t) => [
    LABELS[t.key],
    kilo(med(t, "rps")),
    REFERENCE[t.key] ? `${paired(t)}× ${LABELS[REFERENCE[t.key]]}` : "—",
    fixed(med(t, "cpuUs"), 0),
    fixed(med(t, "p50"), 2),
    fixed(med(t, "p99"), 2),
    String(t.runs.reduce((sum, r) => sum + r.errors + r.non2xx, 0)),
  ]);
  const text = [
    "# Connection rate (a new connection per request)",
    "",
    markdownTable(
      [
        "target",
        "connections/s (median)",
        "paired ratio",
        "CPU µs per connection",
        "p50 ms",
        "p99 ms",
        "errors + non-2xx",
      ],
      rows,
    ),
    "",
    `- wrk -t1 -c${connections} -H "Connection: close", ${durationSec} s per run, ${rounds} rounds interleaved forward and backward in turn, one warm-up run per target; medians (the paired ratio is the median of the rounds' ratios)`,
    `- ${PINNED ? "targets pinned to CPU 0; nginx and wrk to CPU 1" : "nothing pinned (taskset missing or fewer than 2 CPUs)"}`,
    `- Node targets on Node ${nodeVersion}; Switchyard listeners accept several connections per loop turn only on Node 22.12+ under Linux (one socket otherwise)`,
    `- HAProxy: ${haproxyVersion()}, nbthread 1, mode http, http-reuse always`,
    "",
  ].join("\n");
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, text);
  console.log(`\n${text}`);
}

main().catch(async (error) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
