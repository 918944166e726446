/**
 * Issue #14's memory targets for the HTTP proxy path, each proxy in its own
 * process, RSS read from /proc (VmRSS):
 *   1. after-load: a 20 s, 64-connection autocannon load, then 10 s idle: RSS
 *      must be back within 10% of its start (after / start ≤ 1.10).
 *   2. upload: one 500 MB streamed upload (client → proxy → a backend that reads
 *      and discards) must add < 64 MB RSS to the proxy (peak − start).
 *   3. stalled readers: 10 clients ask for a 1 GiB response (the backend writes
 *      it as fast as allowed), read 1 MB and stop reading: RSS must grow
 *      < 32 MB over the next 10 s (backpressure holds).
 * Targets: Switchyard's HttpProxy, the same with the V8 flags \`switchyard proxy\`
 * adds (src/cli/v8-flags.ts: above all the young generation capped; the
 * default young generation alone is 32 MB once load has grown it) and, for comparison, the minimal node:http → undici
 * proxy of bench/proxy.js. Every scenario starts a fresh proxy process
 * per target (so each starts from the same state), pinned to CPU 0; the
 * backend and autocannon share CPU 1; the upload and stalled clients run in
 * this process. Writes bench/results/memory.md.
 *
 * Env: BENCH_MEMORY_LOAD_S (20), BENCH_MEMORY_SETTLE_S (10),
 * BENCH_MEMORY_UPLOAD_MB (500), BENCH_MEMORY_STALL_S (10), BENCH_CONNECTIONS (64),
 * BENCH_TARGETS (switchyard,switchyard-cli,reference).
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import {
  CLI_FLAGS,
  CLI_TARGET_LABEL,
  LOAD_CPU,
  PINNED,
  PROXY_CPU,
  request,
  startChild,
  startNodeScript,
  stopAll,
  stopChild,
  waitReady,
} from "./lib/children.js";
import { envInt, envList } from "./lib/env.js";
import { rssBytes } from "./lib/idle-connections.js";
import { fixed, markdownTable, ratio } from "./lib/stats.js";

const here = (file) => fileURLToPath(new URL(file, import.meta.url));
const RESULTS_FILE = here("./results/memory.md");
const MB = 1024 * 1024;
const UPLOAD_CHUNK = Buffer.alloc(64 * 1024, 0x61);
const STALL_CLIENTS = 10;
const STALL_RESPONSE_BYTES = 1024 * MB;
/** A stalled client reads this much of its response before it stops reading. */
const STALL_READ_BYTES = 1 * MB;

const TARGETS = {
  switchyard: { label: "Switchyard HttpProxy", script: "./lib/switchyard-proxy.js" },
  "switchyard-cli": {
    label: CLI_TARGET_LABEL,
    script: "./lib/switchyard-proxy.js",
    nodeFlags: CLI_FLAGS,
  },
  reference: { label: "minimal Node proxy (node:http → undici Pool)", script: "./lib/reference-proxy.js" },
};

const mb = (bytes) => `${fixed(bytes / MB, 1)} MB`;

function startNode(name, script, args, cpu, nodeFlags) {
  return startNodeScript(name, here(script), args, cpu, nodeFlags);
}

/** Samples `pid`'s RSS every `everyMs` until `stop()` is called; `peak` is the highest seen. */
function sampleRss(pid, everyMs) {
  const state = { peak: 0, samples: 0 };
  let running = true;
  const done = (async () => {
    while (running) {
      state.peak = Math.max(state.peak, await rssBytes(pid));
      state.samples++;
      await sleep(everyMs);
    }
  })();
  state.stop = async () => {
    running = false;
    await done;
    state.peak = Math.max(state.peak, await rssBytes(pid));
    return state.peak;
  };
  return state;
}

/** One GET through the proxy, answered 200 "ok\n", so both proxies have their upstream warm. */
function getOk(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 5_000 }, (res) => {
      res.resume();
      res.on("end", () =>
        res.statusCode === 200 ? resolve() : reject(new Error(`check answered ${res.statusCode}`)),
      );
    });
    req.on("timeout", () => req.destroy(new Error("check timed out")));
    req.on("error", reject);
  });
}

/** Streams `bytes` to /discard through the proxy, honouring backpressure; resolves with the status. */
function upload(port, bytes) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/discard",
        agent: false,
        headers: { "content-type": "application/octet-stream", "content-length": String(bytes) },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error("upload timed out")));
    req.on("error", reject);
    let left = bytes;
    const write = () => {
      while (left > 0) {
        const piece = left >= UPLOAD_CHUNK.length ? UPLOAD_CHUNK : UPLOAD_CHUNK.subarray(0, left);
        left -= piece.length;
        if (!req.write(piece)) return void req.once("drain", write);
      }
      req.end();
    };
    write();
  });
}

/** A raw client asking for `bytes` from /stream; resolves once it has read `readBytes` and paused. */
function stallingClient(port, bytes, readBytes) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("stalled client: no response within 10 s"));
    }, 10_000);
    socket.on("error", () => {});
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.once("connect", () =>
      socket.write(`GET /stream?bytes=${bytes} HTTP/1.1\r\nHost: bench.local\r\n\r\n`),
    );
    socket.on("data", (chunk) => {
      received += chunk.length;
      if (received >= readBytes) {
        socket.pause();
        clearTimeout(timer);
        resolve(socket);
      }
    });
  });
}

/** Resident bytes of the target's young generation, read without a GC. */
async function youngGeneration(target) {
  return (await request(target.handle, { type: "memory" })).youngGeneration;
}

async function afterLoad(target, ctx) {
  const startRss = await rssBytes(target.pid);
  const startYoung = await youngGeneration(target);
  const sampler = sampleRss(target.pid, 250);
  const run = await request(
    ctx.load,
    {
      type: "run",
      url: `http://127.0.0.1:${target.port}/`,
      connections: ctx.connections,
      durationSec: ctx.loadSec,
    },
    (ctx.loadSec + 60) * 1000,
  );
  const peakRss = await sampler.stop();
  await sleep(ctx.settleSec * 1000);
  const afterRss = await rssBytes(target.pid);
  const afterYoung = await youngGeneration(target);
  // Then a forced full GC: tells garbage V8 has not collected from memory it keeps (heap, malloc).
  const gc = await request(target.handle, { type: "memory", gc: true });
  return {
    startRss,
    peakRss,
    afterRss,
    startYoung,
    afterYoung,
    gcRss: await rssBytes(target.pid),
    heapUsed: gc.heapUsed,
    rps: run.rps,
    failed: run.non2xx + run.errors + run.timeouts,
  };
}

async function uploadScenario(target, ctx) {
  const startRss = await rssBytes(target.pid);
  const sampler = sampleRss(target.pid, 100);
  const started = performance.now();
  let status;
  try {
    status = await upload(target.port, ctx.uploadBytes);
  } catch (error) {
    status = `error: ${error.message}`;
  }
  const seconds = (performance.now() - started) / 1000;
  const peakRss = await sampler.stop();
  return { startRss, peakRss, added: peakRss - startRss, status, mbPerSec: ctx.uploadBytes / MB / seconds };
}

async function stallScenario(target, ctx) {
  const startRss = await rssBytes(target.pid);
  const sockets = await Promise.all(
    Array.from({ length: STALL_CLIENTS }, () =>
      stallingClient(target.port, STALL_RESPONSE_BYTES, STALL_READ_BYTES),
    ),
  );
  try {
    const stoppedRss = await rssBytes(target.pid);
    const sampler = sampleRss(target.pid, 250);
    await sleep(ctx.stallSec * 1000);
    const endRss = await rssBytes(target.pid);
    const peakRss = await sampler.stop();
    return { startRss, stoppedRss, endRss, peakRss, growth: peakRss - stoppedRss };
  } finally {
    for (const socket of sockets) socket.destroy();
  }
}

const SCENARIOS = [
  { key: "afterLoad", run: afterLoad },
  { key: "upload", run: uploadScenario },
  { key: "stall", run: stallScenario },
];

export async function runMemoryBench() {
  const ctx = {
    loadSec: envInt("BENCH_MEMORY_LOAD_S", 20),
    settleSec: envInt("BENCH_MEMORY_SETTLE_S", 10),
    uploadBytes: envInt("BENCH_MEMORY_UPLOAD_MB", 500) * MB,
    stallSec: envInt("BENCH_MEMORY_STALL_S", 10),
    connections: envInt("BENCH_CONNECTIONS", 64),
  };
  const wanted = envList("BENCH_TARGETS", Object.keys(TARGETS)).filter((key) => key in TARGETS);
  const pinning = PINNED
    ? "proxy under test pinned to CPU 0; backend and autocannon pinned to CPU 1; upload and stalled clients in the orchestrator, unpinned"
    : "no pinning";
  const notes = [];
  if (!existsSync(here("../dist/proxy/http-proxy.js"))) {
    for (const key of wanted.filter((k) => k.startsWith("switchyard"))) {
      notes.push(
        `${TARGETS[key].label} skipped: dist/proxy/http-proxy.js does not exist (run \`npm run build\`).`,
      );
      wanted.splice(wanted.indexOf(key), 1);
    }
  }
  console.log(
    `memory bench: load ${ctx.loadSec} s × ${ctx.connections} connections then ${ctx.settleSec} s idle; upload ${mb(ctx.uploadBytes)}; ${STALL_CLIENTS} stalled readers for ${ctx.stallSec} s; ${pinning}`,
  );

  const backend = await startNode("backend", "./lib/backend-server.js", [], LOAD_CPU);
  ctx.load = startChild({
    name: "autocannon",
    command: process.execPath,
    args: [here("./lib/load-worker.js")],
    cpu: LOAD_CPU,
    ipc: true,
  });
  await waitReady(ctx.load);

  const results = Object.fromEntries(wanted.map((key) => [key, {}]));
  for (const scenario of SCENARIOS) {
    for (const key of wanted) {
      const proxy = await startNode(
        key,
        TARGETS[key].script,
        [String(backend.port)],
        PROXY_CPU,
        TARGETS[key].nodeFlags,
      );
      try {
        await getOk(proxy.port);
        await sleep(1_000);
        const r = await scenario.run({ port: proxy.port, pid: proxy.handle.pid, handle: proxy.handle }, ctx);
        results[key][scenario.key] = r;
        console.log(
          `  ${scenario.key} ${TARGETS[key].label}: ${JSON.stringify(r, (_, v) => (typeof v === "number" && v > MB ? mb(v) : v))}`,
        );
      } catch (error) {
        notes.push(`${TARGETS[key].label}, ${scenario.key}: failed: ${error.message.split("\n")[0]}`);
      } finally {
        await stopChild(proxy.handle);
      }
    }
  }

  const rows = (pick) =>
    wanted.filter((key) => results[key][pick]).map((key) => [TARGETS[key].label, results[key][pick]]);
  const verdict = (ok) => (ok ? "met" : "MISSED");
  const loadTable = markdownTable(
    [
      "target",
      "start RSS",
      "peak RSS",
      `RSS ${ctx.settleSec} s after`,
      "after / start",
      "target ≤ 1.10",
      "young generation start → after",
      "RSS after gc()",
      "heap used after gc()",
      "req/s",
      "failed",
    ],
    rows("afterLoad").map(([label, r]) => [
      label,
      mb(r.startRss),
      mb(r.peakRss),
      mb(r.afterRss),
      ratio(r.afterRss, r.startRss),
      verdict(r.afterRss <= r.startRss * 1.1),
      `${mb(r.startYoung)} → ${mb(r.afterYoung)}`,
      mb(r.gcRss),
      mb(r.heapUsed),
      fixed(r.rps, 0),
      String(r.failed),
    ]),
  );
  const uploadTable = markdownTable(
    ["target", "start RSS", "peak RSS", "peak added RSS", "target < 64 MB", "status", "MB/s"],
    rows("upload").map(([label, r]) => [
      label,
      mb(r.startRss),
      mb(r.peakRss),
      mb(r.added),
      verdict(r.added < 64 * MB && r.status === 200),
      String(r.status),
      fixed(r.mbPerSec, 0),
    ]),
  );
  const stallTable = markdownTable(
    [
      "target",
      "start RSS",
      "RSS when reads stop",
      `peak over ${ctx.stallSec} s`,
      `RSS after ${ctx.stallSec} s`,
      "growth (peak − at stop)",
      "target < 32 MB",
    ],
    rows("stall").map(([label, r]) => [
      label,
      mb(r.startRss),
      mb(r.stoppedRss),
      mb(r.peakRss),
      mb(r.endRss),
      mb(r.growth),
      verdict(r.growth < 32 * MB),
    ]),
  );
  const context = [
    `- date: ${new Date().toISOString()}`,
    `- node ${process.version}; ${os.cpus().length} CPUs; ${os.type()} ${os.release()}`,
    `- pinning: ${pinning}`,
    "- RSS = VmRSS from /proc/PID/status of the proxy process; a fresh proxy process per target and scenario, one GET through it and 1 s idle before the start figure",
    '- backend: node:http (bench/lib/backend-server.js): "ok\\n" on /, reads and discards the body on /discard, streams N zero bytes on /stream?bytes=N',
    "- reference proxy: node:http server → undici 7 Pool, streaming both ways (bench/lib/reference-proxy.js)",
    ...notes.map((note) => `- note: ${note}`),
  ];
  const report =
    `# HTTP proxy memory benchmark (bench/memory.js)\n\n` +
    `## After load: ${ctx.loadSec} s of autocannon, ${ctx.connections} connections, then ${ctx.settleSec} s idle\n\n${loadTable}\n\n` +
    `## Streamed upload of ${mb(ctx.uploadBytes)} to a backend that discards it\n\n${uploadTable}\n\n` +
    `## ${STALL_CLIENTS} clients stop reading a 1 GiB response after ${mb(STALL_READ_BYTES)}\n\n${stallTable}\n\n` +
    `${context.join("\n")}\n`;
  console.log(`\n${report}`);
  await mkdir(path.dirname(RESULTS_FILE), { recursive: true });
  await writeFile(RESULTS_FILE, report);
  console.log("wrote bench/results/memory.md");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runMemoryBench()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(stopAll);
}
