/**
 * Failover under load (DESIGN.md "Failover": a backend killed under load → 0
 * failed idempotent requests; passive ejection within 100 ms of the first
 * failure). Three backends (test/fixtures/chaos-backend.mjs, each its own
 * process) behind Switchyard's HttpProxy (round-robin, no retryOn, default
 * outlier detection: 5 consecutive failures eject), `BENCH_FAILOVER_CONCURRENCY`
 * keep-alive clients sending GET / in a loop. Proxy and clients share this
 * process, as in test/chaos.test.ts. Fresh backends and proxy every round.
 *
 * - 500 rounds: a third of the way in, one backend starts answering 500. The
 *   fixture stamps its first 500 and the last request it received; this
 *   process stamps the ejection (balancer.onHealthChange, reason "outlier") and
 *   every attempt the proxy opens on that backend, all on one clock (epoch ms
 *   with sub-ms precision, see wallClock; each fixture's offset is measured
 *   before the round and its stamps corrected by it). Reports first failure → ejection, → last
 *   request it received, → last attempt opened on it, attempts opened after
 *   the ejection, and the 500s clients saw (with no retryOn, the ones that
 *   ejected it and the ones in flight then reach clients).
 * - kill rounds: a third of the way in, one backend is SIGKILLed. Reports the
 *   requests that failed for clients (transport errors or 5xx), the proxy's
 *   retries, and kill → out of rotation (ejection or open breaker), → last
 *   attempt opened on the dead backend.
 *
 * Writes bench/results/failover-latest.md and prints it.
 *
 * Env: BENCH_FAILOVER_ROUNDS (500 rounds, default 5), BENCH_FAILOVER_KILL_ROUNDS
 * (default 3), BENCH_FAILOVER_CONCURRENCY (default 100), BENCH_FAILOVER_DURATION_MS
 * (per round, default 3000; the failure comes at a third of it).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Pool, request } from "undici";
import { wallClock } from "../test/fixtures/wall-clock.mjs";
import { envInt } from "./lib/env.js";
import { fixed, markdownTable, median } from "./lib/stats.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const RESULTS_DIR = here("./results/");
const FIXTURE = here("../test/fixtures/chaos-backend.mjs");
const DIST = here("../dist/index.js");

const ROUNDS = envInt("BENCH_FAILOVER_ROUNDS", 5);
const KILL_ROUNDS = envInt("BENCH_FAILOVER_KILL_ROUNDS", 3);
const CONCURRENCY = envInt("BENCH_FAILOVER_CONCURRENCY", 100);
const DURATION_MS = envInt("BENCH_FAILOVER_DURATION_MS", 3_000);
const FAIL_AT_MS = Math.round(DURATION_MS / 3);
/** DESIGN.md's targets. */
const EJECTION_TARGET_MS = 100;
/** Per client worker, so the load loop is bounded whatever happens. */
const MAX_REQUESTS_PER_WORKER = 100_000;
const LOCALHOST = "127.0.0.1";

/** Re-anchored every round, so a slewing wall clock cannot drift it far from the fixtures'. */
let epochNow = wallClock();

// ---------------------------------------------------------------- backends

/** Fixture processes still running; each is stopped by its own pid. */
const running = new Set();

/** Starts one fixture; resolves with { name, child, port } once it printed its port. */
function startBackend(name) {
  return new Promise((resolve, reject) => {
    // stdin stays a pipe: the fixture exits when it closes, so it never outlives this process.
    const child = spawn(process.execPath, [FIXTURE, name], { stdio: ["pipe", "pipe", "inherit"] });
    // Writing to a killed fixture's stdin fails with EPIPE; it is gone either way.
    child.stdin.on("error", () => {});
    running.add(child);
    child.once("exit", () => running.delete(child));
    let output = "";
    const timer = setTimeout(() => reject(new Error(`backend ${name} did not start in 10 s`)), 10_000);
    const early = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`backend ${name} exited early (${code ?? signal})`));
    };
    child.once("error", reject);
    child.once("exit", early);
    child.stdout.on("data", (chunk) => {
      output += chunk.toString();
      const newline = output.indexOf("\n");
      if (newline === -1) return;
      clearTimeout(timer);
      child.off("exit", early);
      child.stdout.removeAllListeners("data");
      child.stdout.resume();
      const { port } = JSON.parse(output.slice(0, newline));
      resolve({ name, child, port });
    });
  });
}

/** Stops a fixture: closes its stdin (it exits), SIGKILL after 2 s if it did not. */
function stopBackend(backend) {
  const child = backend.child;
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 2_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin.end();
  });
}

function killAllNow() {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}
process.on("exit", killAllNow);
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    killAllNow();
    process.exit(130);
  });
}

async function getJson(port, pathname) {
  const response = await request(`http://${LOCALHOST}:${port}${pathname}`, { headersTimeout: 10_000 });
  return JSON.parse(await response.body.text());
}

/**
 * How far the fixture's clock reading is from ours: its `now` against the
 * midpoint of our readings around the request, from the quickest of a few
 * round trips (the first one also opens the connection). Returns
 * { offset, halfRtt } in ms: the true offset is within offset ± halfRtt.
 */
async function clockOffset(backend) {
  let best = { offset: Number.NaN, halfRtt: Number.POSITIVE_INFINITY };
  for (let sample = 0; sample < 8; sample++) {
    const before = epochNow();
    const stats = await getJson(backend.port, "/stats");
    const after = epochNow();
    if ((after - before) / 2 < best.halfRtt) {
      best = { offset: stats.now - (before + after) / 2, halfRtt: (after - before) / 2 };
    }
  }
  return best;
}

// ---------------------------------------------------------------- proxy and load

/** Stamps every attempt the proxy opens on `backend` (its in-flight count going up). */
function watchAttempts(backend) {
  const watch = { opened: 0, lastAt: Number.NaN };
  let inFlight = backend.inFlight;
  Object.defineProperty(backend, "inFlight", {
    configurable: true,
    enumerable: true,
    get: () => inFlight,
    set: (value) => {
      if (value > inFlight) {
        watch.opened += value - inFlight;
        watch.lastAt = epochNow();
      }
      inFlight = value;
    },
  });
  return watch;
}

async function startProxy(lib, backends) {
  const balancer = lib.createBalancer({
    backends: backends.map((backend) => ({ id: backend.name, address: `${LOCALHOST}:${backend.port}` })),
    algorithm: "round-robin",
  });
  const proxy = new lib.HttpProxy({ balancer, host: LOCALHOST, port: 0 });
  const { port } = await proxy.listen();
  return { balancer, proxy, port };
}

/**
 * CONCURRENCY workers sending GET / over keep-alive connections for
 * DURATION_MS; `atFailure` runs once FAIL_AT_MS has passed. Also measures this
 * process's event-loop delay meanwhile (p99 and max, ms): proxy and clients
 * share the loop, and a failing response waits in its socket until the loop
 * gets to it.
 */
async function load(port, atFailure) {
  const client = new Pool(`http://${LOCALHOST}:${port}`, { connections: CONCURRENCY });
  const result = {
    requests: 0,
    statuses: new Map(),
    transportErrors: 0,
    firstError: undefined,
    loopDelayP99: Number.NaN,
    loopDelayMax: Number.NaN,
  };
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const deadline = Date.now() + DURATION_MS;
  const timer = setTimeout(atFailure, FAIL_AT_MS);
  const worker = async () => {
    for (let i = 0; i < MAX_REQUESTS_PER_WORKER && Date.now() < deadline; i++) {
      result.requests++;
      try {
        const response = await client.request({ path: "/", method: "GET", headersTimeout: 10_000 });
        await response.body.text();
        result.statuses.set(response.statusCode, (result.statuses.get(response.statusCode) ?? 0) + 1);
      } catch (error) {
        result.transportErrors++;
        result.firstError ??= error;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    clearTimeout(timer);
    loopDelay.disable();
    await client.close();
  }
  result.loopDelayP99 = loopDelay.percentile(99) / 1e6;
  result.loopDelayMax = loopDelay.max / 1e6;
  return result;
}

function count5xx(statuses) {
  let total = 0;
  for (const [status, n] of statuses) if (status >= 500) total += n;
  return total;
}

/** Starts three fresh backends and a proxy over them; `run` gets them and the victim's watch. */
async function withSetup(lib, round, run) {
  const backends = await Promise.all(["a", "b", "c"].map((name) => startBackend(`${name}${round}`)));
  let setup;
  try {
    epochNow = wallClock();
    const clocks = [];
    for (const backend of backends) clocks.push(await clockOffset(backend));
    setup = await startProxy(lib, backends);
    const index = round % backends.length;
    const victim = backends[index];
    const backend = setup.balancer.pool.require(victim.name);
    const watch = watchAttempts(backend);
    // The victim's timestamps on this process's clock.
    const offset = clocks[index].offset;
    const local = (fixtureTime) => (fixtureTime === null ? Number.NaN : fixtureTime - offset);
    const outcome = await run({ ...setup, victim, backend, watch, local });
    return { ...outcome, clocks };
  } finally {
    await setup?.proxy.close(500);
    await Promise.all(backends.map(stopBackend));
  }
}

// ---------------------------------------------------------------- scenarios

async function failing500Round(lib, round) {
  return withSetup(lib, round, async ({ balancer, proxy, port, victim, backend, watch, local }) => {
    let ejection;
    const unsubscribe = balancer.onHealthChange((event) => {
      if (ejection || event.backend !== backend || event.reason !== "outlier") return;
      ejection = {
        at: epochNow(),
        opened: watch.opened,
        inFlight: backend.inFlight,
        errors: backend.errors,
      };
    });
    let control = Promise.resolve();
    const result = await load(port, () => {
      control = getJson(victim.port, "/control?fail=500");
    });
    unsubscribe();
    await control;
    const fixture = await getJson(victim.port, "/stats");
    const first = local(fixture.firstFailureAt);
    return {
      requests: result.requests,
      transportErrors: result.transportErrors,
      client5xx: count5xx(result.statuses),
      sent500: fixture.failures,
      toEjection: ejection ? ejection.at - first : Number.NaN,
      toLastRequest: local(fixture.lastRequestAt) - first,
      toLastAttempt: watch.lastAt - first,
      controlToFirst: first - local(fixture.failingSince),
      inFlightAtEjection: ejection?.inFlight ?? Number.NaN,
      attemptsAfterEjection: ejection ? watch.opened - ejection.opened : Number.NaN,
      servedMatches: fixture.served === backend.requests,
      retries: proxy.stats().retries,
      loopDelayP99: result.loopDelayP99,
      loopDelayMax: result.loopDelayMax,
    };
  });
}

async function killRound(lib, round) {
  return withSetup(lib, round, async ({ balancer, proxy, port, victim, backend, watch }) => {
    let killedAt = Number.NaN;
    let openedAtKill = 0;
    let out;
    const outOfRotation = (by) => {
      if (!out && !backend.ready && Number.isFinite(killedAt)) out = { at: epochNow(), by };
    };
    const unsubscribe = balancer.onHealthChange((event) => {
      if (event.backend === backend) outOfRotation(event.reason);
    });
    const onCircuit = (changed) => {
      if (changed === backend) outOfRotation("circuit breaker");
    };
    balancer.pool.on("circuit-changed", onCircuit);
    const result = await load(port, () => {
      openedAtKill = watch.opened;
      killedAt = epochNow();
      victim.child.kill("SIGKILL");
    });
    unsubscribe();
    balancer.pool.off("circuit-changed", onCircuit);
    const stats = proxy.stats();
    const attemptsAfterKill = watch.opened - openedAtKill;
    return {
      requests: result.requests,
      transportErrors: result.transportErrors,
      client5xx: count5xx(result.statuses),
      firstError: result.firstError === undefined ? undefined : String(result.firstError),
      retries: stats.retries,
      budgetRefused: stats.retryBudgetExhausted,
      attemptsAfterKill,
      toLastAttempt: attemptsAfterKill > 0 ? watch.lastAt - killedAt : 0,
      toOut: out ? out.at - killedAt : Number.NaN,
      outBy: out?.by ?? "never",
      loopDelayP99: result.loopDelayP99,
      loopDelayMax: result.loopDelayMax,
    };
  });
}

// ---------------------------------------------------------------- report

const ms = (value) => (Number.isFinite(value) ? `${fixed(value, 1)} ms` : "—");
const finite = (values) => values.filter(Number.isFinite);
const maxOf = (values) => (finite(values).length === 0 ? Number.NaN : Math.max(...finite(values)));
const medianOf = (values) => median(finite(values));
const sum = (values) => values.reduce((total, value) => total + value, 0);

const loopDelayCell = (round) => `${fixed(round.loopDelayP99, 1)} / ${fixed(round.loopDelayMax, 1)} ms`;

function summaryRow(label, values, target = "") {
  return [label, ms(medianOf(values)), ms(maxOf(values)), target];
}

function report(rounds500, killRounds) {
  const clocks = [...rounds500, ...killRounds].flatMap((round) => round.clocks);
  const worstOffset = maxOf(clocks.map((clock) => Math.abs(clock.offset)));
  const worstHalfRtt = maxOf(clocks.map((clock) => clock.halfRtt));
  const ejections = rounds500.map((round) => round.toEjection);
  const ejectionMax = maxOf(ejections);
  const killFailures = sum(killRounds.map((round) => round.transportErrors + round.client5xx));

  const summary = markdownTable(
    ["figure", "median", "max", "target"],
    [
      summaryRow(
        "500s: first failure → ejection",
        ejections,
        `≤ ${EJECTION_TARGET_MS} ms (${ejectionMax <= EJECTION_TARGET_MS ? "met" : "missed"})`,
      ),
      summaryRow(
        "500s: first failure → last request it received",
        rounds500.map((round) => round.toLastRequest),
      ),
      summaryRow(
        "500s: first failure → last attempt the proxy opened on it",
        rounds500.map((round) => round.toLastAttempt),
      ),
      summaryRow(
        "kill: SIGKILL → out of rotation",
        killRounds.map((round) => round.toOut),
      ),
      summaryRow(
        "kill: SIGKILL → last attempt the proxy opened on it",
        killRounds.map((round) => round.toLastAttempt),
      ),
    ],
  );
  const counts = markdownTable(
    ["figure", "per round", "total", "target"],
    [
      [
        "500s: 500s seen by clients (no retryOn)",
        rounds500.map((round) => round.client5xx).join(", "),
        String(sum(rounds500.map((round) => round.client5xx))),
        "reported (≥ 5: the consecutive failures that eject, plus those in flight then)",
      ],
      [
        "500s: attempts opened on it after the ejection",
        rounds500.map((round) => round.attemptsAfterEjection).join(", "),
        String(sum(rounds500.map((round) => round.attemptsAfterEjection))),
        "0",
      ],
      [
        "kill: failed client requests (transport errors + 5xx)",
        killRounds.map((round) => round.transportErrors + round.client5xx).join(", "),
        String(killFailures),
        `0 (${killFailures === 0 ? "met" : "missed"})`,
      ],
      [
        "kill: retries (extra upstream attempts)",
        killRounds.map((round) => round.retries).join(", "),
        String(sum(killRounds.map((round) => round.retries))),
        "",
      ],
    ],
  );
  const table500 = markdownTable(
    [
      "round",
      "requests",
      "control → first 500",
      "first 500 → ejection",
      "→ last request received",
      "→ last attempt opened",
      "in flight at ejection",
      "attempts after ejection",
      "500s sent / seen by clients",
      "transport errors",
      "fixture count = proxy count",
      "event-loop delay p99 / max",
    ],
    rounds500.map((round, i) => [
      String(i + 1),
      String(round.requests),
      ms(round.controlToFirst),
      ms(round.toEjection),
      ms(round.toLastRequest),
      ms(round.toLastAttempt),
      String(round.inFlightAtEjection),
      String(round.attemptsAfterEjection),
      `${round.sent500} / ${round.client5xx}`,
      String(round.transportErrors),
      round.servedMatches ? "yes" : "no",
      loopDelayCell(round),
    ]),
  );
  const tableKill = markdownTable(
    [
      "round",
      "requests",
      "failed for clients",
      "retries",
      "refused by retry budget",
      "attempts after kill",
      "kill → last attempt",
      "kill → out of rotation",
      "taken out by",
      "event-loop delay p99 / max",
    ],
    killRounds.map((round, i) => [
      String(i + 1),
      String(round.requests),
      String(round.transportErrors + round.client5xx),
      String(round.retries),
      String(round.budgetRefused),
      String(round.attemptsAfterKill),
      ms(round.toLastAttempt),
      ms(round.toOut),
      round.outBy,
      loopDelayCell(round),
    ]),
  );
  const firstErrors = killRounds.map((round) => round.firstError).filter(Boolean);
  const cpuModel = os.cpus()[0]?.model ?? "unknown CPU";
  const context = [
    `- date: ${new Date().toISOString()}`,
    `- node ${process.version}; ${os.cpus().length} CPUs (${cpuModel}); ${os.type()} ${os.release()}`,
    `- ${CONCURRENCY} concurrent keep-alive GET / for ${DURATION_MS} ms per round, failure at ${FAIL_AT_MS} ms; ` +
      "3 backends (test/fixtures/chaos-backend.mjs, own processes), HttpProxy round-robin, no retryOn, " +
      "default outlier detection (5 consecutive failures) and circuit breaker; proxy and clients share one process",
    "- clocks: epoch ms with sub-ms precision in every process (performance.now() anchored where Date.now() " +
      "ticks); before each round each fixture's offset is measured from the quickest of 8 round trips and " +
      `its timestamps are corrected by it: offsets at most ${fixed(worstOffset, 2)} ms, ` +
      `uncertainty (half round trip) at most ${fixed(worstHalfRtt, 2)} ms`,
    "- a negative → last attempt means the proxy opened no attempt on it after its first 500 was sent: " +
      "the 500s that ejected it were all in flight already",
    ...(firstErrors.length > 0 ? [`- first client error in kill rounds: ${firstErrors[0]}`] : []),
  ];
  return (
    "# Failover benchmark (bench/failover.js)\n\n" +
    `## Summary (${rounds500.length} rounds of 500s, ${killRounds.length} SIGKILL rounds)\n\n${summary}\n\n${counts}\n\n` +
    `## Backend starts answering 500\n\n${table500}\n\n` +
    `## Backend SIGKILLed\n\n${tableKill}\n\n${context.join("\n")}\n`
  );
}

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(DIST)) {
    console.error("dist/index.js is missing: run `npm run build` first (npm run bench does)");
    process.exitCode = 1;
    return;
  }
  const lib = await import(DIST);
  const rounds500 = [];
  for (let round = 0; round < ROUNDS; round++) {
    const outcome = await failing500Round(lib, round);
    rounds500.push(outcome);
    console.log(
      `500s round ${round + 1}/${ROUNDS}: first 500 → ejection ${ms(outcome.toEjection)}, ` +
        `→ last request ${ms(outcome.toLastRequest)}; ${outcome.client5xx} 500s seen by clients`,
    );
  }
  const killRounds = [];
  for (let round = 0; round < KILL_ROUNDS; round++) {
    const outcome = await killRound(lib, round);
    killRounds.push(outcome);
    console.log(
      `kill round ${round + 1}/${KILL_ROUNDS}: ${outcome.transportErrors + outcome.client5xx} failed, ` +
        `${outcome.retries} retries, → last attempt ${ms(outcome.toLastAttempt)}, ` +
        `out of rotation ${ms(outcome.toOut)} (${outcome.outBy})`,
    );
  }
  const text = report(rounds500, killRounds);
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "failover-latest.md"), text);
  console.log(`\n${text}`);
}

try {
  await main();
} finally {
  await Promise.all([...running].map((child) => stopBackend({ child })));
}
