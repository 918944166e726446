/**
 * HTTP proxy throughput on one core, measured as the reference figures in the shared project
 * notes (BENCHMARKS.md) are: the same load generator (wrk -t1, 64 connections) against
 *   - the backend directly (NGINX, one process, answering "ok\n"),
 *   - HAProxy with one thread (nbthread 1, http-reuse always),
 *   - Switchyard's HttpProxy,
 *   - a minimal Node proxy (node:http server → undici Pool, streaming),
 *   - Switchyard's TcpProxy and a bare Node `net` pipe (raw TCP, the same load),
 * each proxy in its own process pinned to CPU 0, the backend and the load
 * generator pinned to CPU 1. One warm-up run per target, then the targets
 * interleaved over several rounds, forward and backward in turn; the median
 * round is reported with ratios to HAProxy and to the minimal Node proxy.
 * Then memory per idle keep-alive client connection for each proxy.
 * Writes bench/results/latest.md.
 *
 * Env: BENCH_DURATION (s per run, default 5), BENCH_ROUNDS (default 6: more,
 * shorter rounds put compared runs closer in time, as this machine's speed drifts),
 * BENCH_WARMUP (s, default 5), BENCH_CONNECTIONS (default 64),
 * BENCH_IDLE_CONNECTIONS (default 9000), BENCH_QUIET_WAIT (s a run may wait for
 * the proxy core to be quiet, default 60), BENCH_TARGETS (comma list of
 * direct,haproxy,switchyard,switchyard-bare,switchyard-cli,reference,switchyard-tcp,bare-pipe,bare-responder), BENCH_PROFILE=1 (after the measured
 * rounds, one extra run per Node proxy under the V8 CPU profiler; top frames
 * and time per area go into the report, profiles into $TMPDIR/switchyard-bench-profiles/),
 * BENCH_NODE (the Node binary for the Node targets; default this one).
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { dropTargetsNotAnsweringOk } from "./lib/check-targets.js";
import {
  BENCH_NODE,
  benchNodeVersion,
  CLI_FLAGS,
  CLI_TARGET_LABEL,
  LOAD_CPU,
  PINNED,
  PROXY_CPU,
  request,
  startNodeScript,
  stopAll,
  stopChild,
  TASKSET,
} from "./lib/children.js";
import { summarizeProfile } from "./lib/cpuprofile.js";
import { envInt, envList } from "./lib/env.js";
import { ensureHaproxy, haproxyVersion, startHaproxy } from "./lib/haproxy.js";
import { closeIdleConnections, openIdleConnections, rssBytes, stillOpen } from "./lib/idle-connections.js";
import {
  contendedNote,
  isQuiet,
  measureRun,
  OTHERS_LIMIT,
  quietWaitNote,
  summarizeRuns,
  waitBeforeRun,
} from "./lib/measure.js";
import { ensureNginx, nginxVersion, startNginxResponder } from "./lib/nginx.js";
import { fixed, kilo, markdownTable, median, ratio, withUnit } from "./lib/stats.js";
import { ensureWrk, runWrk } from "./lib/wrk.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const RESULTS_DIR = here("./results/");
/** Outside the tree: profiles are megabytes and not results to keep. */
const PROFILE_DIR = path.join(os.tmpdir(), "switchyard-bench-profiles");
const HTTP_PROXY_DIST = here("../dist/proxy/http-proxy.js");

/** Steps of the idle-connection staircase. */
const IDLE_STEPS = 6;

/** Least-squares slope of `key` over `open` across the points. */
function slope(points, key) {
  const n = points.length;
  const mx = points.reduce((sum, p) => sum + p.open, 0) / n;
  const my = points.reduce((sum, p) => sum + p[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.open - mx) * (p[key] - my);
    den += (p.open - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** Run order within a round: HAProxy, Switchyard and the minimal proxy together; the TcpProxy beside the bare pipe. */
const RUN_ORDER = [
  "direct",
  "haproxy",
  "switchyard",
  "reference",
  "switchyard-bare",
  "switchyard-cli",
  "switchyard-tcp",
  "bare-pipe",
];

const LABELS = {
  direct: "direct to the backend",
  haproxy: "HAProxy http (nbthread 1)",
  switchyard: "Switchyard HttpProxy",
  "switchyard-bare": "Switchyard HttpProxy, metrics off",
  "switchyard-cli": CLI_TARGET_LABEL,
  reference: "minimal Node proxy (node:http → undici Pool)",
  "switchyard-tcp": "Switchyard TcpProxy (raw TCP)",
  "bare-pipe": "bare Node net pipe (raw TCP)",
  "bare-responder": "bare Node net server answering itself (the floor; memory only)",
};

function startNodeTarget(name, script, args, cpu, nodeFlags) {
  return startNodeScript(name, here(script), args, cpu, nodeFlags, BENCH_NODE);
}

export async function runProxyBench() {
  const durationSec = envInt("BENCH_DURATION", 5);
  const rounds = envInt("BENCH_ROUNDS", 6);
  const warmupSec = envInt("BENCH_WARMUP", Math.min(5, durationSec));
  const connections = envInt("BENCH_CONNECTIONS", 64);
  const idleCount = envInt("BENCH_IDLE_CONNECTIONS", 9000);
  const wanted = envList("BENCH_TARGETS", [
    "direct",
    "haproxy",
    "switchyard",
    "switchyard-bare",
    "switchyard-cli",
    "reference",
    "switchyard-tcp",
    "bare-pipe",
    "bare-responder",
  ]);
  const profile = process.env.BENCH_PROFILE === "1";
  const pinning = PINNED
    ? "proxy under test pinned to CPU 0 (taskset -c 0); backend and wrk pinned to CPU 1 (taskset -c 1); orchestrator unpinned and idle during runs"
    : `no pinning (${TASKSET ? "fewer than 2 CPUs" : "taskset not found"})`;
  const notes = [];
  const quietWaitSec = envInt("BENCH_QUIET_WAIT", 60);
  const quietWaits = [];
  const loadAtStart = os.loadavg()[0];
  const log = (line) => console.log(line);
  const profiles = [];
  if (profile) await mkdir(PROFILE_DIR, { recursive: true });

  log(
    `proxy bench: ${durationSec} s × ${rounds} rounds, warm-up ${warmupSec} s, ${connections} connections; ${pinning}`,
  );
  const targets = [];
  let memoryTargets = [];
  let haproxy;
  let backend;
  let haproxyVersionText;
  try {
    const missing = ensureNginx(log) ?? ensureWrk(log);
    if (missing) throw new Error(`the proxy bench needs NGINX (the backend) and wrk: ${missing}`);
    backend = await startNginxResponder({ cpu: LOAD_CPU });
    if (wanted.includes("direct"))
      targets.push({ key: "direct", port: backend.port, pid: backend.handle.pid });

    if (wanted.includes("haproxy")) {
      const missing = ensureHaproxy(log);
      if (missing) {
        notes.push(`HAProxy skipped: ${missing}.`);
      } else {
        haproxyVersionText = haproxyVersion();
        haproxy = await startHaproxy({ upstreamPort: backend.port, cpu: PROXY_CPU });
        targets.push({ key: "haproxy", port: haproxy.port, pid: haproxy.handle.pid, handle: haproxy.handle });
      }
    }
    /** Starts a Node target script (in lib/) on the proxy core and adds it to the targets. */
    const addNodeTarget = async (key, script, args, extra = {}, nodeFlags = []) => {
      const start = () =>
        startNodeTarget(key, `./lib/${script}`, [String(backend.port), ...args], PROXY_CPU, nodeFlags);
      const t = await start();
      targets.push({ key, port: t.port, pid: t.handle.pid, handle: t.handle, node: true, start, ...extra });
    };
    if (wanted.includes("switchyard")) {
      if (!existsSync(HTTP_PROXY_DIST)) {
        notes.push(
          "Switchyard HttpProxy skipped: dist/proxy/http-proxy.js does not exist (run `npm run build`).",
        );
      } else {
        try {
          await addNodeTarget("switchyard", "switchyard-proxy.js", []);
          // The same proxy recording nothing: the throughput ratio is the cost of metrics.
          if (wanted.includes("switchyard-bare"))
            await addNodeTarget("switchyard-bare", "switchyard-proxy.js", ["no-metrics"]);
          // The same proxy with the V8 flags the CLI adds: what the launcher's settings change.
          if (wanted.includes("switchyard-cli"))
            await addNodeTarget("switchyard-cli", "switchyard-proxy.js", [], {}, CLI_FLAGS);
        } catch (error) {
          notes.push(`Switchyard HttpProxy skipped: failed to start: ${error.message.split("\n")[0]}`);
        }
      }
    }
    // Raw TCP: the TcpProxy against a bare Node pipe, the same HTTP load passing through both.
    if (wanted.includes("switchyard-tcp") && existsSync(HTTP_PROXY_DIST))
      await addNodeTarget("switchyard-tcp", "switchyard-proxy.js", ["tcp"], { tcp: true });
    if (wanted.includes("bare-pipe")) await addNodeTarget("bare-pipe", "bare-pipe.js", [], { tcp: true });
    if (wanted.includes("reference")) await addNodeTarget("reference", "reference-proxy.js", []);

    await dropTargetsNotAnsweringOk(targets, LABELS, notes);
    // Compared pairs run back to back (either direction keeps them adjacent): this machine's speed
    // drifts over minutes, so runs far apart in a round compare the machine, not the targets.
    targets.sort((a, b) => RUN_ORDER.indexOf(a.key) - RUN_ORDER.indexOf(b.key));

    const runOnce = async (target, seconds) => {
      await waitBeforeRun(PROXY_CPU, quietWaitSec, quietWaits, log);
      return measureRun({
        run: () =>
          runWrk({
            url: `http://127.0.0.1:${target.port}/`,
            connections,
            durationSec: seconds,
            cpu: LOAD_CPU,
          }),
        targetPid: target.pid,
        alsoOnLoadCore: [backend.handle.pid],
        proxyCpu: PROXY_CPU,
        loadCpu: LOAD_CPU,
        // The direct target (the backend) is pinned to the load core, so all of CPU 0's use is others'.
        targetOnLoadCore: target.key === "direct",
      });
    };

    for (const target of targets) {
      log(`  warm-up ${LABELS[target.key]} (${warmupSec} s)`);
      await runOnce(target, warmupSec);
      target.runs = [];
    }
    for (let round = 0; round < rounds; round++) {
      // Forward, then backward (ABBA): compared targets stay back to back, and each of a pair runs
      // first as often as the other; in one order, whatever a run leaves behind falls on one of them.
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const target of order) {
        const r = await runOnce(target, durationSec);
        target.runs.push(r);
        log(
          `  round ${round + 1}/${rounds} ${LABELS[target.key].padEnd(46)} ${kilo(r.rps)} req/s, p50 ${r.p50} ms, ` +
            `p99 ${r.p99} ms, target CPU ${fixed(r.cpuShare * 100, 0)}%, wrk CPU ${fixed(r.loadCpuShare * 100, 0)}%, ` +
            `others on CPU 0/1 ${fixed(r.othersOnProxyCore * 100, 0)}%/${fixed(r.othersOnLoadCore * 100, 0)}%` +
            (r.non2xx + r.errors + r.timeouts > 0
              ? `, non-2xx ${r.non2xx} errors ${r.errors} timeouts ${r.timeouts}`
              : ""),
        );
      }
    }

    // Optional profile: one more run per Node proxy with the V8 profiler on, after the measured rounds.
    if (profile) {
      for (const target of targets.filter((t) => t.node)) {
        const file = path.join(PROFILE_DIR, `${target.key}.cpuprofile`);
        await request(target.handle, { type: "profile-start" });
        const r = await runOnce(target, durationSec);
        await request(target.handle, { type: "profile-stop", file });
        profiles.push({ target, file, run: r });
        log(`  profiled run ${LABELS[target.key]}: ${kilo(r.rps)} req/s under the profiler → ${file}`);
      }
    }

    // Memory per idle client connection: HAProxy as it ran, each Node proxy in a fresh process
    // (one warmed by the load keeps free memory, V8's pooled pages and the allocator's free lists,
    // that new connections fill without RSS growing), then the floor (started last so it does not
    // share the core during the throughput runs).
    memoryTargets = targets.filter((t) => t.key !== "direct" && !t.tcp);
    if (wanted.includes("bare-responder")) {
      const floor = await startNodeTarget("bare-responder", "./lib/bare-responder.js", [], PROXY_CPU);
      memoryTargets.push({
        key: "bare-responder",
        port: floor.port,
        pid: floor.handle.pid,
        handle: floor.handle,
        node: true,
      });
    }
    // A tunnel holds an upstream connection per client: not the per-client cost measured here.
    for (const target of memoryTargets) {
      let measured = target;
      if (target.start) {
        await stopChild(target.handle);
        const fresh = await target.start();
        measured = { ...target, port: fresh.port, pid: fresh.handle.pid, handle: fresh.handle };
      }
      const settle = async () => {
        if (target.node) await request(measured.handle, { type: "memory", gc: true });
        await sleep(300);
        const memory = target.node ? await request(measured.handle, { type: "memory", gc: true }) : undefined;
        const rss = await rssBytes(measured.pid);
        return { rss, heap: memory?.heapUsed ?? Number.NaN, rssOld: rss - (memory?.youngGeneration ?? 0) };
      };
      try {
        // A staircase of IDLE_STEPS steps; the per-connection cost is the least-squares slope
        // of memory over connections held, so one-time growth at the first step does not count.
        const points = [{ open: 0, ...(await settle()) }];
        const held = [];
        try {
          for (let step = 1; step <= IDLE_STEPS; step++) {
            const want = Math.round((idleCount * step) / IDLE_STEPS) - held.length;
            held.push(...(await openIdleConnections(measured.port, want)));
            await sleep(300);
            points.push({ open: stillOpen(held), ...(await settle()) });
          }
        } finally {
          closeIdleConnections(held);
        }
        const open = points[points.length - 1].open;
        target.memory = {
          open,
          rssPerConn: slope(points, "rss"),
          rssOldPerConn: slope(points, "rssOld"),
          heapPerConn: target.node ? slope(points, "heap") : Number.NaN,
        };
        log(
          `  idle connections ${LABELS[target.key]}: ${open}/${idleCount} held, RSS +${fixed(target.memory.rssPerConn / 1024, 2)} KB/conn` +
            (target.node
              ? `, young generation excluded +${fixed(target.memory.rssOldPerConn / 1024, 2)} KB/conn, heap +${fixed(target.memory.heapPerConn / 1024, 2)} KB/conn`
              : ""),
        );
        await sleep(1_000);
      } catch (error) {
        notes.push(`${LABELS[target.key]}: idle-connection memory not measured: ${error.message}`);
      }
    }
  } finally {
    await stopAll();
    await haproxy?.cleanup();
    await backend?.cleanup();
  }

  const summary = (target, onlyQuiet = false) => summarizeRuns(target.runs, onlyQuiet);
  const resultTable = (byKey, perRound) => {
    const haproxyRps = byKey.haproxy?.rps ?? Number.NaN;
    const referenceRps = byKey.reference?.rps ?? Number.NaN;
    const directP99 = byKey.direct?.p99 ?? Number.NaN;
    return markdownTable(
      [
        "target",
        "req/s",
        "p50",
        "p99",
        "p99 added vs direct",
        "ratio to HAProxy",
        "ratio to minimal Node proxy",
        "target CPU",
        "CPU µs/req",
        "CPU-cost ratio to HAProxy",
        "others on CPU 0 / 1",
        "failed",
        perRound ? "req/s per round" : "rounds",
      ],
      targets.map((t) => {
        const s = byKey[t.key];
        const proxy = t.key !== "direct";
        return [
          LABELS[t.key],
          kilo(s.rps),
          withUnit(s.p50, 1, " ms"),
          withUnit(s.p99, 1, " ms"),
          proxy && Number.isFinite(directP99) ? `${fixed(s.p99 - directP99, 1)} ms` : "—",
          proxy ? ratio(s.rps, haproxyRps) : "—",
          proxy ? ratio(s.rps, referenceRps) : "—",
          withUnit(s.cpuShare * 100, 0, "%"),
          fixed(s.cpuUs, 1),
          proxy ? ratio(byKey.haproxy?.cpuUs ?? Number.NaN, s.cpuUs) : "—",
          `${withUnit(s.others * 100, 0, "%")} / ${withUnit(s.othersLoad * 100, 0, "%")}`,
          String(s.failures),
          perRound
            ? t.runs.map((r) => `${kilo(r.rps)}${isQuiet(r) ? "" : "*"}`).join(", ")
            : `${s.count} of ${t.runs.length}`,
        ];
      }),
    );
  };
  // Paired ratios: each round runs every target back to back, so a round's ratio compares runs
  // minutes apart at most, and the median of those ratios is steadier than the ratio of medians
  // when the box itself speeds up and slows down between rounds.
  const byTargetKey = Object.fromEntries(targets.map((t) => [t.key, t]));
  /** Each round's `field` of target `key` over the same round's of `reference` (inverted: the other way). */
  const perRound = (key, reference, field, invert = false) => {
    const t = byTargetKey[key];
    const other = byTargetKey[reference];
    if (!t || !other || key === reference) return undefined;
    return t.runs.map((r, i) => {
      const o = other.runs[i];
      return o ? (invert ? o[field] / r[field] : r[field] / o[field]) : Number.NaN;
    });
  };
  const pairedMedian = (values) => fixed(median(values.filter(Number.isFinite)), 2);
  const pairedTable = () => {
    const cell = (values) =>
      values === undefined ? "—" : `${pairedMedian(values)} (${values.map((v) => fixed(v, 2)).join(", ")})`;
    return markdownTable(
      ["target", "req/s vs HAProxy", "req/s vs minimal Node proxy", "p99 vs HAProxy"],
      targets
        .filter((t) => t.key !== "direct" && t.key !== "haproxy")
        .map((t) => [
          LABELS[t.key],
          cell(perRound(t.key, "haproxy", "rps")),
          cell(perRound(t.key, "reference", "rps")),
          cell(perRound(t.key, "haproxy", "p99")),
        ]),
    );
  };
  const byKey = Object.fromEntries(targets.map((t) => [t.key, summary(t)]));
  const quietByKey = Object.fromEntries(targets.map((t) => [t.key, summary(t, true)]));
  const table = resultTable(byKey, true);
  const quietTable = resultTable(quietByKey, false);
  const memoryRows = memoryTargets
    .filter((t) => t.memory)
    .map((t) => [
      LABELS[t.key],
      `${t.memory.open}/${idleCount}`,
      `${fixed(t.memory.rssPerConn / 1024, 2)} KB`,
      t.node ? `${fixed(t.memory.rssOldPerConn / 1024, 2)} KB` : "—",
      t.node ? `${fixed(t.memory.heapPerConn / 1024, 2)} KB` : "—",
    ]);
  const memoryTable = markdownTable(
    [
      "target",
      "idle keep-alive connections held",
      "RSS per connection",
      "RSS per connection, young generation excluded",
      "JS heap per connection",
    ],
    memoryRows,
  );
  if (byKey.switchyard && byKey["switchyard-bare"]) {
    notes.push(
      `metrics cost: Switchyard with metrics reaches ${pairedMedian(perRound("switchyard", "switchyard-bare", "rps"))}× the throughput of the same proxy with metrics off, paired (goal ≥ 0.95)`,
    );
  }
  if (byKey.switchyard && byKey["switchyard-cli"]) {
    notes.push(
      `CLI flags: Switchyard with ${CLI_FLAGS.join(" ")} reaches ${pairedMedian(perRound("switchyard-cli", "switchyard", "rps"))}× the throughput of Node's defaults at ${pairedMedian(perRound("switchyard-cli", "switchyard", "cpuUsPerRequest", true))}× its CPU cost per request (defaults' µs/req ÷ the CLI flags'), paired`,
    );
  }
  if (byKey["switchyard-tcp"] && byKey["bare-pipe"]) {
    const tcp = quietByKey["switchyard-tcp"].count > 0 ? quietByKey : byKey;
    notes.push(
      `TCP: Switchyard's TcpProxy reaches ${ratio(tcp["switchyard-tcp"].rps, tcp["bare-pipe"].rps)}× the bare pipe's req/s at ${ratio(tcp["bare-pipe"].cpuUs, tcp["switchyard-tcp"].cpuUs)}× its CPU cost per request (bare pipe's µs/req ÷ the TcpProxy's; goal within 5%: ≥ 0.95)`,
    );
  }
  const waitNote = quietWaitNote(quietWaits, PROXY_CPU, quietWaitSec);
  if (waitNote) notes.push(waitNote);
  const contended = contendedNote(
    targets.filter((t) => t.runs.some((r) => !isQuiet(r))).map((t) => LABELS[t.key]),
  );
  if (contended) notes.push(contended);
  const loadShares = targets.map((t) => byKey[t.key].loadShare).filter(Number.isFinite);
  const cpuModel = os.cpus()[0]?.model ?? "unknown CPU";
  const context = [
    `- date: ${new Date().toISOString()}`,
    `- node ${benchNodeVersion()} (the Node targets'); ${os.cpus().length} CPUs (${cpuModel}); ${os.type()} ${os.release()}`,
    `- load average (1 min) at start ${fixed(loadAtStart, 2)}, at end ${fixed(os.loadavg()[0], 2)} (other work on the box skews every figure)`,
    `- pinning: ${pinning}`,
    `- backend: NGINX ${nginxVersion()}, one process (master_process off), \`return 200 "ok\\n"\`, keep-alive connections not recycled`,
    `- load generator: wrk -t1 --latency, ${connections} connections, ${durationSec} s per run, warm-up ${warmupSec} s per target, ${rounds} rounds interleaved, forward and backward in turn, median of rounds reported`,
    `- HAProxy: ${haproxyVersionText ? `${haproxyVersionText}, nbthread 1, mode http, http-reuse always` : "not run"}`,
    "- reference proxy: node:http server → undici 7 Pool (pipelining 1), streaming both ways, hop-by-hop headers dropped",
    `- "target CPU" = CPU time of the process under test / wall time (100% = the one pinned core is saturated); wrk used ${fixed(median(loadShares) * 100, 0)}% of its core (median); with the backend on the same core, a target near 100% is the bottleneck, not the load`,
    "- \"CPU-cost ratio to HAProxy\" = HAProxy's CPU µs per request ÷ the target's: the throughput ratio to expect if both saturated their core (it matches the req/s ratio when both saturate their core)",
    `- memory: up to ${idleCount} keep-alive connections opened in ${IDLE_STEPS} steps, each served one request then left idle, to HAProxy as it ran and to a fresh process of each Node proxy (a warmed one fills new connections into memory the load left free); per connection = least-squares slope of RSS (from /proc) and of JS heap after gc() over the connections held at each step. "Young generation excluded" subtracts the resident size of V8's new space before the slope: V8 grows that buffer from about 2 to 32 MB under allocation (opening thousands of connections is such a burst) and a full gc() shrinks it again, so the raw slope charges a one-time, bounded growth to each connection; the floor row is a bare Node server holding the same sockets`,
    `- "others on CPU 0 / 1" = busy time of each core not spent by our processes on it (the target on CPU 0; backend and wrk on CPU 1), from /proc/stat: other work on the box. A run above ${OTHERS_LIMIT * 100}% on either core is contended (marked *)`,
    ...notes.map((note) => `- note: ${note}`),
  ];
  let profileText = "";
  for (const { target, file, run } of profiles) {
    const summary = await summarizeProfile(file, 25);
    profileText +=
      `\n## CPU profile: ${LABELS[target.key]}\n\n` +
      `One extra ${durationSec} s run under the V8 sampling profiler (100 µs) after the measured rounds: ` +
      `${kilo(run.rps)} req/s, ${fixed(summary.idleShare * 100, 0)}% of samples idle; shares below are of non-idle samples (self time). ` +
      `Profile: ${file}\n\n` +
      `${markdownTable(
        ["area", "share"],
        summary.areas.map((a) => [a.name, `${fixed(a.share * 100, 1)}%`]),
      )}\n\n${markdownTable(
        ["share", "frame"],
        summary.frames.map((f) => [`${fixed(f.share * 100, 1)}%`, `\`${f.name}\``]),
      )}\n`;
  }
  const report = `# HTTP proxy benchmark (bench/proxy.js)\n\n## All rounds (median)\n\n${table}\n\n## Paired ratios (median of each round's ratio, the rounds in brackets)\n\n${pairedTable()}\n\n## Quiet rounds only (others ≤ ${OTHERS_LIMIT * 100}% on both cores; median)\n\n${quietTable}\n\n## Memory per idle client connection\n\n${memoryTable}\n\n${context.join("\n")}\n${profileText}`;
  console.log(`\n${report}`);
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "latest.md"), report);
  console.log(`wrote ${path.join(RESULTS_DIR, "latest.md")}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runProxyBench()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(stopAll);
}
