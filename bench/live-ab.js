/**
 * Live A/B against the peers' defaults: demo backends with finite concurrency
 * on 127.0.0.1, the same open-loop load through each proxy in turn, and the
 * latency the clients saw. Two cases: `heterogeneous` (one backend 5x slower
 * throughout) and `drifting` (all equal until half-way, then one turns 5x
 * slower). The load is `--load` (0.7) of the capacity with one slow backend,
 * so both cases end at the same utilization. Proxies: HAProxy `balance
 * leastconn` and `roundrobin`, NGINX `least_conn` (installed with apt-get
 * when missing), and Switchyard's HttpProxy with round-robin, P2C, peak-EWMA,
 * alpha1 and Prequal (probing the demo backends' /prequal-probe). Each proxy
 * gets fresh backends and is pinned to CPU 0 (one thread, one worker), the
 * backends and the load generator to CPU 1. Not part of `npm test`.
 *
 *   npm run build && node bench/live-ab.js [options]   (--help lists them)
 *
 * `--switchyard` replaces the Switchyard algorithms compared (names or specs
 * with options, as the config takes them).
 *
 * Writes bench/results/live-ab-latest.md (p50/p99/p99.9, errors, each
 * backend's share) and live-ab-latest.html (the same as charts).
 */

import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { barChart } from "../dist/lab/svg-chart.js";
import { LOAD_CPU, PROXY_CPU, request, startNodeScript, stopAll, stopChild } from "./lib/children.js";
import { ensureHaproxy, haproxyVersion, startHaproxy } from "./lib/haproxy.js";
import { ensureNginx, nginxVersion, startNginx } from "./lib/nginx.js";
import { fixed, markdownTable, ratio } from "./lib/stats.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const USAGE = `usage: npm run build && node bench/live-ab.js [--backends 4] [--concurrency 4]
  [--delay 10] [--load 0.7] [--duration 20] [--warmup 3] [--only name,name]
  [--switchyard '["p2c", {"name": "prequal", "probesPerRequest": 1}]']`;
/** The options, or usage and exit 2 on a mistake (exit 0 for --help). */
function readArgs() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        backends: { type: "string", default: "4" },
        concurrency: { type: "string", default: "4" },
        delay: { type: "string", default: "10" },
        load: { type: "string", default: "0.7" },
        duration: { type: "string", default: "20" },
        warmup: { type: "string", default: "3" },
        only: { type: "string" },
        switchyard: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${error.message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return parsed.values;
}
const args = readArgs();
const BACKENDS = Number(args.backends);
const CONCURRENCY = Number(args.concurrency);
const DELAY_MS = Number(args.delay);
const SLOW_MS = 5 * DELAY_MS;
const DURATION_MS = Number(args.duration) * 1000;
const WARMUP_MS = Number(args.warmup) * 1000;

const slowLast = Array.from({ length: BACKENDS }, (_, i) => (i === BACKENDS - 1 ? SLOW_MS : DELAY_MS));
/** Requests per second the backends serve with one of them slow. */
const CAPACITY_RPS = slowLast.reduce((total, delay) => total + (CONCURRENCY * 1000) / delay, 0);
const RATE = Number(args.load) * CAPACITY_RPS;

const CASES = [
  { name: "heterogeneous", delays: slowLast },
  { name: "drifting", delays: slowLast.map(() => DELAY_MS), driftAt: 0.5 },
];

/** `p2c`, or `prequal probesPerRequest=1` for a spec with options. */
const specLabel = (spec) =>
  typeof spec === "string"
    ? spec
    : [
        spec.name,
        ...Object.entries(spec).flatMap(([key, value]) =>
          key === "name" ? [] : [`${key}=${JSON.stringify(value)}`],
        ),
      ].join(" ");
const switchyard = (algorithm) => ({
  name: `switchyard ${specLabel(algorithm)}`,
  start: (ports) =>
    startNodeScript(
      `switchyard ${algorithm}`,
      here("./lib/ab-switchyard.js"),
      [JSON.stringify({ algorithm, ports })],
      PROXY_CPU,
    ),
});
const TARGETS = [
  {
    name: "haproxy leastconn",
    needs: ensureHaproxy,
    start: (ports) => startHaproxy({ upstreamPorts: ports, balance: "leastconn", cpu: PROXY_CPU }),
  },
  {
    name: "haproxy roundrobin",
    needs: ensureHaproxy,
    start: (ports) => startHaproxy({ upstreamPorts: ports, balance: "roundrobin", cpu: PROXY_CPU }),
  },
  {
    name: "nginx least_conn",
    needs: ensureNginx,
    start: (ports) => startNginx({ upstreamPorts: ports, balance: "least_conn;", cpu: PROXY_CPU }),
  },
  ...(args.switchyard
    ? JSON.parse(args.switchyard)
    : ["round-robin", "p2c", "peak-ewma", "alpha1", "prequal"]
  ).map(switchyard),
].filter((target) => !args.only || args.only.split(",").some((name) => target.name.includes(name.trim())));

/** Turns backend `port` slow through its /control, as the drifting case does half-way. */
function slowDown(port) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: `/control?delay_ms=${SLOW_MS}` }, (res) =>
        res.resume().on("end", resolve),
      )
      .on("error", reject);
  });
}

async function runOne(testCase, target, load) {
  const backends = await startNodeScript(
    "backends",
    here("./lib/ab-backends.js"),
    [JSON.stringify({ delays: testCase.delays, concurrency: CONCURRENCY })],
    LOAD_CPU,
  );
  const { ports } = backends.ready;
  const proxy = await target.start(ports);
  try {
    // The same load first, not measured: JIT, connection pools and what the algorithms learn settle,
    // as a proxy that has been up a while has them (a cold Node proxy's first second is its slowest).
    if (WARMUP_MS > 0)
      await request(
        load.handle,
        { type: "run", port: proxy.port, rate: RATE, durationMs: WARMUP_MS },
        WARMUP_MS + 60_000,
      );
    const drift =
      testCase.driftAt === undefined
        ? undefined
        : sleep(DURATION_MS * testCase.driftAt).then(() => slowDown(ports.at(-1)));
    const result = await request(
      load.handle,
      { type: "run", port: proxy.port, rate: RATE, durationMs: DURATION_MS },
      DURATION_MS + 60_000,
    );
    await drift;
    return result;
  } finally {
    await stopChild(proxy.handle);
    await proxy.cleanup?.();
    await stopChild(backends.handle);
  }
}

async function main() {
  const log = (line) => console.log(line);
  const skipped = [];
  const targets = TARGETS.filter((target) => {
    const missing = target.needs?.(log);
    if (missing) skipped.push(`${target.name}: ${missing}`);
    return !missing;
  });
  log(
    `${BACKENDS} backends x ${CONCURRENCY} workers, ${DELAY_MS} ms (slow ${SLOW_MS} ms); ${fixed(RATE, 0)} req/s open loop (${args.load} of ${fixed(CAPACITY_RPS, 0)}); ${DURATION_MS / 1000} s per run after ${WARMUP_MS / 1000} s of warm-up`,
  );
  const load = await startNodeScript("load", here("./lib/ab-load.js"), [], LOAD_CPU);
  const results = [];
  for (const testCase of CASES) {
    for (const target of targets) {
      const result = await runOne(testCase, target, load);
      log(
        `${testCase.name} ${target.name}: p50 ${fixed(result.p50)} p99 ${fixed(result.p99)} p99.9 ${fixed(result.p999)} ms`,
      );
      results.push({ case: testCase.name, target: target.name, ...result });
    }
  }
  await writeReports(results, skipped);
}

function shareText(result) {
  const served = Object.values(result.shares).reduce((a, b) => a + b, 0);
  return Array.from(
    { length: BACKENDS },
    (_, i) => `${fixed((100 * (result.shares[`b${i}`] ?? 0)) / Math.max(1, served), 0)}%`,
  ).join(" / ");
}

async function writeReports(results, skipped) {
  const rows = results.map((r) => [
    r.case,
    r.target,
    fixed(r.p50),
    fixed(r.p99),
    fixed(r.p999),
    String(Object.values(r.errors).reduce((a, b) => a + b, 0)),
    shareText(r),
  ]);
  const verdicts = CASES.map(({ name }) => {
    const ofCase = results.filter((r) => r.case === name);
    const best = ofCase.filter((r) => r.target.startsWith("switchyard")).sort((a, b) => a.p99 - b.p99)[0];
    const leastconn = ofCase.find((r) => r.target === "haproxy leastconn");
    return best && leastconn
      ? `- ${name}: best Switchyard p99 (${best.target}) / HAProxy leastconn p99 = ${ratio(best.p99, leastconn.p99)}`
      : `- ${name}: —`;
  });
  const header = [
    "# Live A/B",
    "",
    `${BACKENDS} demo backends x ${CONCURRENCY} workers at ${DELAY_MS} ms (the last at ${SLOW_MS} ms: throughout in heterogeneous, from half-way in drifting); ` +
      `${fixed(RATE, 0)} req/s open loop for ${DURATION_MS / 1000} s, measured after ${WARMUP_MS / 1000} s of the same load; HAProxy ${ensureHaproxy(() => {}) ? "—" : haproxyVersion()}, NGINX ${ensureNginx(() => {}) ? "—" : nginxVersion()}, Node ${process.version}, ${os.cpus().length} CPUs.`,
    "Latency in ms from when each request was due; shares are b0 / b1 / ... (the last is the slow one).",
    "",
  ];
  const markdown = [
    ...header,
    markdownTable(["case", "proxy", "p50", "p99", "p99.9", "errors", "shares"], rows),
    "",
    ...verdicts,
    ...skipped.map((line) => `- skipped ${line}`),
    "",
  ].join("\n");
  const charts = CASES.map(({ name }) => {
    const ofCase = results.filter((r) => r.case === name);
    return barChart({
      title: `${name}: latency by proxy`,
      categories: ofCase.map((r) => r.target),
      series: [
        { name: "p50", values: ofCase.map((r) => r.p50) },
        { name: "p99", values: ofCase.map((r) => r.p99) },
        { name: "p99.9", values: ofCase.map((r) => r.p999) },
      ],
      unit: "ms",
      log: true,
    });
  });
  const html =
    `<!doctype html><meta charset="utf-8"><title>Live A/B</title><body style="font-family:sans-serif;max-width:1000px">` +
    `<pre>${markdown.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</pre>${charts.join("")}</body>`;
  const dir = here("./results/");
  await mkdir(dir, { recursive: true });
  await writeFile(`${dir}live-ab-latest.md`, markdown);
  await writeFile(`${dir}live-ab-latest.html`, html);
  console.log(`\n${markdown}\nwrote bench/results/live-ab-latest.md and live-ab-latest.html`);
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => stopAll());
