/**
 * The edge: Switchyard's HttpProxy terminating TLS beside HAProxy (nbthread 1)
 * in the same run, both with the same self-signed certificate (ECDSA P-256,
 * lib/certificate.js) and plain HTTP/1.1 to the same minimal node:http backend.
 * The method of bench/proxy.js: each proxy in its own process pinned to CPU 0,
 * the backend and the load generators pinned to CPU 1; per section one warm-up
 * run per target, then the targets interleaved round-robin over the rounds
 * (start rotated each round), the median reported with the ratio to HAProxy,
 * the target's CPU µs per request and others' use of each core. Sections:
 *   - keepalive: HTTPS keep-alive, autocannon 9 (lib/load-worker.js), 64 connections;
 *   - handshake: one GET per new TLS connection, full handshakes (no session
 *     resumption), BENCH_HANDSHAKE_CONCURRENCY at a time (lib/handshake-worker.js);
 *   - h2: HTTP/2 by ALPN with h2load (nghttp2-client, installed with apt-get
 *     when missing; the section is skipped with a note when it cannot be).
 * Writes bench/results/edge-latest.md.
 *
 * Env: BENCH_DURATION (s per run, default 10), BENCH_ROUNDS (default 3),
 * BENCH_WARMUP (s, default 5, capped at the duration), BENCH_CONNECTIONS
 * (keep-alive connections, default 64), BENCH_HANDSHAKE_CONCURRENCY (default 16),
 * BENCH_H2_CLIENTS (h2load -c, default 16), BENCH_H2_STREAMS (h2load -m, default 10),
 * BENCH_QUIET_WAIT (s, default 60), BENCH_TARGETS (haproxy,switchyard),
 * BENCH_EDGE_SECTIONS (keepalive,handshake,h2).
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CERTIFICATE_KIND, makeBenchCertificate } from "./lib/certificate.js";
import { dropTargetsNotAnsweringOk } from "./lib/check-targets.js";
import {
  LOAD_CPU,
  PINNED,
  PROXY_CPU,
  request,
  startChild,
  startNodeScript,
  stopAll,
  TASKSET,
  waitReady,
} from "./lib/children.js";
import { envInt, envList } from "./lib/env.js";
import { ensureH2load, h2loadVersion, runH2load } from "./lib/h2load.js";
import { ensureHaproxy, haproxyVersion, startHaproxy } from "./lib/haproxy.js";
import {
  contendedNote,
  isQuiet,
  measureRun,
  OTHERS_LIMIT,
  quietWaitNote,
  summarizeRuns,
  waitBeforeRun,
} from "./lib/measure.js";
import { cpuSeconds, reapedChildrenCpuSeconds } from "./lib/proc.js";
import { fixed, kilo, markdownTable, ratio, withUnit } from "./lib/stats.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const RESULTS_FILE = here("./results/edge-latest.md");
const HTTP_PROXY_DIST = here("../dist/proxy/http-proxy.js");

const LABELS = {
  haproxy: "HAProxy (nbthread 1, ssl)",
  switchyard: "Switchyard HttpProxy (tls)",
};

/** The issue's goals: Switchyard's throughput at least this share of HAProxy's. */
const GOALS = { keepalive: 0.5, h2: 0.5 };

const TITLES = {
  keepalive: "HTTPS keep-alive (HTTP/1.1, autocannon)",
  handshake: "New TLS handshakes (one GET per connection, no resumption)",
  h2: "HTTP/2 over TLS (h2load)",
};

export async function runEdgeBench() {
  const durationSec = envInt("BENCH_DURATION", 10);
  const rounds = envInt("BENCH_ROUNDS", 3);
  const warmupSec = envInt("BENCH_WARMUP", Math.min(5, durationSec));
  const connections = envInt("BENCH_CONNECTIONS", 64);
  const handshakeConcurrency = envInt("BENCH_HANDSHAKE_CONCURRENCY", 16);
  const h2Clients = envInt("BENCH_H2_CLIENTS", 16);
  const h2Streams = envInt("BENCH_H2_STREAMS", 10);
  const quietWaitSec = envInt("BENCH_QUIET_WAIT", 60);
  const wanted = envList("BENCH_TARGETS", ["haproxy", "switchyard"]);
  const sections = envList("BENCH_EDGE_SECTIONS", ["keepalive", "handshake", "h2"]).filter((s) => {
    if (s in TITLES) return true;
    throw new Error(`BENCH_EDGE_SECTIONS: unknown section "${s}" (keepalive, handshake, h2)`);
  });
  const pinning = PINNED
    ? "proxy under test pinned to CPU 0 (taskset -c 0); backend and every load generator pinned to CPU 1 (taskset -c 1); orchestrator unpinned and idle during runs"
    : `no pinning (${TASKSET ? "fewer than 2 CPUs" : "taskset not found"})`;
  const notes = [];
  const quietWaits = [];
  const loadAtStart = os.loadavg()[0];
  const log = (line) => console.log(line);
  const targets = [];
  let haproxyVersionText;
  let h2loadVersionText;
  let haproxy;
  let certificate;
  /** TLS versions the handshake worker saw negotiated. */
  const tlsVersions = new Set();

  log(
    `edge bench: sections ${sections.join(", ")}; ${durationSec} s × ${rounds} rounds, warm-up ${warmupSec} s; ${pinning}`,
  );
  try {
    certificate = await makeBenchCertificate();
    const backend = await startNodeScript("backend", here("./lib/backend-server.js"), [], LOAD_CPU);
    const autocannon = startChild({
      name: "autocannon",
      command: process.execPath,
      args: [here("./lib/load-worker.js")],
      cpu: LOAD_CPU,
      ipc: true,
    });
    const handshaker = startChild({
      name: "handshakes",
      command: process.execPath,
      args: [here("./lib/handshake-worker.js")],
      cpu: LOAD_CPU,
      ipc: true,
    });
    await waitReady(autocannon);
    await waitReady(handshaker);
    const ourLoadCorePids = [backend.handle.pid, autocannon.pid, handshaker.pid];

    if (wanted.includes("haproxy")) {
      const missing = ensureHaproxy(log);
      if (missing) {
        notes.push(`HAProxy skipped: ${missing}.`);
      } else {
        haproxyVersionText = haproxyVersion();
        haproxy = await startHaproxy({
          upstreamPort: backend.port,
          cpu: PROXY_CPU,
          tls: { pem: certificate.pem },
        });
        targets.push({ key: "haproxy", port: haproxy.port, pid: haproxy.handle.pid });
      }
    }
    if (wanted.includes("switchyard")) {
      if (!existsSync(HTTP_PROXY_DIST)) {
        notes.push(
          "Switchyard HttpProxy skipped: dist/proxy/http-proxy.js does not exist (run `npm run build`).",
        );
      } else {
        try {
          const t = await startNodeScript(
            "switchyard",
            here("./lib/switchyard-proxy.js"),
            [String(backend.port), "--tls", certificate.cert, certificate.key],
            PROXY_CPU,
          );
          targets.push({ key: "switchyard", port: t.port, pid: t.handle.pid });
        } catch (error) {
          notes.push(`Switchyard HttpProxy skipped: failed to start: ${error.message.split("\n")[0]}`);
        }
      }
    }
    await dropTargetsNotAnsweringOk(targets, LABELS, notes, { tls: true });
    if (sections.includes("h2")) {
      const missing = ensureH2load(log);
      if (missing) {
        notes.push(`HTTP/2 section skipped: ${missing}.`);
        sections.splice(sections.indexOf("h2"), 1);
      } else {
        h2loadVersionText = h2loadVersion();
      }
    }

    /** One run of `section` against `target`, measured like bench/proxy.js's runs. */
    const loads = {
      keepalive: (target, seconds) => ({
        pid: autocannon.pid,
        loadSeconds: () => cpuSeconds(autocannon.pid),
        run: () =>
          request(
            autocannon,
            { type: "run", url: `https://127.0.0.1:${target.port}/`, connections, durationSec: seconds },
            (seconds + 60) * 1000,
          ),
      }),
      handshake: (target, seconds) => ({
        pid: handshaker.pid,
        loadSeconds: () => cpuSeconds(handshaker.pid),
        run: () =>
          request(
            handshaker,
            { type: "run", port: target.port, concurrency: handshakeConcurrency, durationSec: seconds },
            (seconds + 60) * 1000,
          ),
      }),
      // h2load is a fresh child per run: its CPU is read from our reaped children's once it exits.
      h2: (target, seconds) => ({
        pid: undefined,
        loadSeconds: reapedChildrenCpuSeconds,
        run: () =>
          runH2load({
            url: `https://127.0.0.1:${target.port}/`,
            clients: h2Clients,
            streams: h2Streams,
            durationSec: seconds,
            cpu: LOAD_CPU,
          }),
      }),
    };
    const runOnce = async (section, target, seconds) => {
      await waitBeforeRun(PROXY_CPU, quietWaitSec, quietWaits, log);
      const load = loads[section](target, seconds);
      return measureRun({
        run: load.run,
        targetPid: target.pid,
        loadSeconds: load.loadSeconds,
        alsoOnLoadCore: ourLoadCorePids.filter((pid) => pid !== load.pid),
        proxyCpu: PROXY_CPU,
        loadCpu: LOAD_CPU,
      });
    };

    for (const section of sections) {
      log(`\n${TITLES[section]}`);
      const live = [];
      for (const target of targets) {
        target[section] = { runs: [] };
        try {
          log(`  warm-up ${LABELS[target.key]} (${warmupSec} s)`);
          await runOnce(section, target, warmupSec);
          live.push(target);
        } catch (error) {
          target[section].error = error.message.split("\n")[0];
          notes.push(`${TITLES[section]}: ${LABELS[target.key]} failed: ${target[section].error}`);
        }
      }
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < live.length; i++) {
          const target = live[(i + round) % live.length];
          if (target[section].error) continue;
          let r;
          try {
            r = await runOnce(section, target, durationSec);
          } catch (error) {
            target[section].error = error.message.split("\n")[0];
            notes.push(`${TITLES[section]}: ${LABELS[target.key]} failed: ${target[section].error}`);
            continue;
          }
          target[section].runs.push(r);
          for (const protocol of r.protocols ?? []) tlsVersions.add(protocol);
          const failed = r.non2xx + r.errors + r.timeouts;
          log(
            `  round ${round + 1}/${rounds} ${LABELS[target.key].padEnd(28)} ${kilo(r.rps)}/s, ` +
              `p50 ${withUnit(r.p50, 1, " ms")}, p99 ${withUnit(r.p99, 1, " ms")}, mean ${withUnit(r.mean, 2, " ms")}, ` +
              `target CPU ${fixed(r.cpuShare * 100, 0)}%, load generator CPU ${fixed(r.loadCpuShare * 100, 0)}%, ` +
              `others on CPU 0/1 ${fixed(r.othersOnProxyCore * 100, 0)}%/${fixed(r.othersOnLoadCore * 100, 0)}%` +
              (failed > 0 ? `, non-2xx ${r.non2xx} errors ${r.errors} timeouts ${r.timeouts}` : ""),
          );
        }
      }
    }
  } finally {
    await stopAll();
    await haproxy?.cleanup();
    await certificate?.cleanup();
  }

  const sectionTable = (section, onlyQuiet) => {
    const withRuns = targets.filter((t) => t[section]?.runs.length > 0);
    const byKey = Object.fromEntries(withRuns.map((t) => [t.key, summarizeRuns(t[section].runs, onlyQuiet)]));
    const haproxyRps = byKey.haproxy?.rps ?? Number.NaN;
    const goal = GOALS[section];
    return markdownTable(
      [
        "target",
        section === "handshake" ? "handshakes/s" : "req/s",
        "p50",
        "p99",
        "mean",
        "ratio to HAProxy",
        "goal",
        "target CPU",
        "CPU µs/req",
        "CPU-cost ratio to HAProxy",
        "load generator CPU",
        "others on CPU 0 / 1",
        "failed",
        onlyQuiet ? "rounds" : "per round",
      ],
      withRuns.map((t) => {
        const s = byKey[t.key];
        const isSwitchyard = t.key === "switchyard";
        const r = s.rps / haproxyRps;
        return [
          LABELS[t.key],
          kilo(s.rps),
          withUnit(s.p50, 1, " ms"),
          withUnit(s.p99, 1, " ms"),
          withUnit(s.mean, 2, " ms"),
          isSwitchyard ? ratio(s.rps, haproxyRps) : "—",
          isSwitchyard && goal !== undefined
            ? `≥ ${fixed(goal, 2)}: ${Number.isFinite(r) ? (r >= goal ? "met" : "MISSED") : "—"}`
            : "—",
          withUnit(s.cpuShare * 100, 0, "%"),
          fixed(s.cpuUs, 1),
          isSwitchyard ? ratio(byKey.haproxy?.cpuUs ?? Number.NaN, s.cpuUs) : "—",
          withUnit(s.loadShare * 100, 0, "%"),
          `${withUnit(s.others * 100, 0, "%")} / ${withUnit(s.othersLoad * 100, 0, "%")}`,
          String(s.failures),
          onlyQuiet
            ? `${s.count} of ${t[section].runs.length}`
            : t[section].runs.map((run) => `${kilo(run.rps)}${isQuiet(run) ? "" : "*"}`).join(", "),
        ];
      }),
    );
  };

  const waitNote = quietWaitNote(quietWaits, PROXY_CPU, quietWaitSec);
  if (waitNote) notes.push(waitNote);
  const contended = sections.flatMap((section) =>
    targets
      .filter((t) => t[section]?.runs.some((r) => !isQuiet(r)))
      .map((t) => `${LABELS[t.key]} (${section})`),
  );
  const contendedText = contendedNote(contended);
  if (contendedText) notes.push(contendedText);

  const smoke = durationSec < 10 || rounds < 3;
  const cpuModel = os.cpus()[0]?.model ?? "unknown CPU";
  const context = [
    `- date: ${new Date().toISOString()}`,
    `- node ${process.version} (OpenSSL ${process.versions.openssl}); ${os.cpus().length} CPUs (${cpuModel}); ${os.type()} ${os.release()}`,
    `- load average (1 min) at start ${fixed(loadAtStart, 2)}, at end ${fixed(os.loadavg()[0], 2)} (other work on the box skews every figure)`,
    `- pinning: ${pinning}`,
    `- certificate: ${CERTIFICATE_KIND}, made by openssl at run time; the same files for both proxies (HAProxy gets cert and key in one PEM); TLS versions the handshake worker negotiated: ${tlsVersions.size > 0 ? [...tlsVersions].join(", ") : "—"}`,
    '- backend: minimal node:http server answering 200 "ok\\n" (keep-alive), one process, plain HTTP/1.1 from both proxies',
    `- HAProxy: ${haproxyVersionText ? `${haproxyVersionText}, nbthread 1, mode http, http-reuse always, \`bind … ssl crt combined.pem alpn h2,http/1.1\`` : "not run"}`,
    "- Switchyard: HttpProxy with `tls: { certificates: TlsCertificates.load([{ cert, key }]) }` (ALPN h2, http/1.1 by default), round-robin over the one backend, metrics on",
    `- rounds: per section one warm-up run of ${warmupSec} s per target, then ${rounds} rounds of ${durationSec} s interleaved round-robin (start rotated each round); median of rounds reported`,
    `- keep-alive: autocannon 9 (library, one process) over https, ${connections} connections, pipelining 1, HTTP/1.1 (autocannon offers no ALPN, and never verifies certificates)`,
    `- handshakes: one Node process (lib/handshake-worker.js), ${handshakeConcurrency} connections at a time, each a full TLS handshake (tls.connect, no session passed, so no resumption), ALPN http/1.1, one \`GET /\` with \`Connection: close\`, read until the proxy closes; handshakes/s = completed 200 answers / s; p50/p99/mean from connect to the close. The client's side of every handshake costs CPU 1 about what the server's costs CPU 0: when "load generator CPU" is near 100%, the figure is the client's ceiling and the CPU µs/req columns are the comparison to read`,
    `- HTTP/2: ${h2loadVersionText ? `h2load (nghttp2 ${h2loadVersionText}) -c ${h2Clients} -m ${h2Streams} -t 1 -D <duration>, ALPN h2; req/s from its "finished in" line; h2load reports no percentiles, so p50/p99 are "—" and mean is its mean time per request` : "not run"}`,
    `- "target CPU" = CPU time of the proxy / wall time (100% = its pinned core saturated); "CPU µs/req" = the proxy's CPU time / requests answered 200; "CPU-cost ratio to HAProxy" = HAProxy's µs/req ÷ Switchyard's (the throughput ratio to expect if both saturated their core); "load generator CPU" = the load generator's share of CPU 1`,
    `- "others on CPU 0 / 1" = busy time of each core not spent by our processes on it, from /proc/stat. A run above ${OTHERS_LIMIT * 100}% on either core is contended (marked *)`,
    ...notes.map((note) => `- note: ${note}`),
  ];
  const smokeText = smoke
    ? `**Smoke run** (BENCH_DURATION=${durationSec}, BENCH_ROUNDS=${rounds}): it shows every section runs and produces numbers; these are not figures to quote (run with the defaults on a quiet machine for those).\n\n`
    : "";
  let body = "";
  for (const section of sections) {
    body += `## ${TITLES[section]}\n\n### All rounds (median)\n\n${sectionTable(section, false)}\n\n### Quiet rounds only (others ≤ ${OTHERS_LIMIT * 100}% on both cores; median)\n\n${sectionTable(section, true)}\n\n`;
  }
  const report = `# Edge benchmark: TLS and HTTP/2 (bench/edge.js)\n\n${smokeText}${body}${context.join("\n")}\n`;
  console.log(`\n${report}`);
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, report);
  console.log(`wrote ${RESULTS_FILE}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runEdgeBench()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(stopAll);
}
