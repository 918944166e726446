/**
 * Geo decision and affinity cookie cost (issue 6): ns per decision of
 * `geographical` and `geo-proximity` with 1000 backends in 20 regions, the
 * client located three ways — (a) GeoIP with the LRU cache warm (1024 client
 * IPs repeating), (b) GeoIP uncached (131072 distinct public IPv4s in turn,
 * cacheSize 16, so every lookup misses and reads the shipped .mmdb), (c) the
 * trusted `X-Client-Region` / `X-Client-Geo` headers — against
 * least-connections at the same 1000 backends; and ns per affinity cookie
 * sign and verify against one plain HMAC-SHA256 of the same payload.
 * Each measurement runs in its own child process (this file with
 * `--worker <job>`), warmed up, then timed in batches; p50/p99 are over the
 * batches' ns/op. Writes bench/results/geo-latest.md.
 *
 *   node bench/geo.js          (after `npm run build`)
 *
 * Env: BENCH_GEO_BATCHES (timed batches per measurement, default 200).
 */
import { createHmac } from "node:crypto";
import { writeFile } from "node:fs/promises";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { envInt } from "./lib/env.js";
import { fixed, markdownTable, quantile } from "./lib/stats.js";

const SELF = fileURLToPath(import.meta.url);
const RESULTS = fileURLToPath(new URL("./results/geo-latest.md", import.meta.url));

const BACKENDS = 1000;
/** 20 regions at real cities; each has 5 sites (a few km apart) of 10 backends. */
const REGIONS = [
  ["us-east", 39.04, -77.49],
  ["us-east-2", 40.0, -83.0],
  ["us-west", 45.6, -121.2],
  ["us-west-2", 37.35, -121.96],
  ["ca-central", 45.5, -73.57],
  ["sa-east", -23.55, -46.63],
  ["eu-west", 53.35, -6.26],
  ["eu-west-2", 51.51, -0.13],
  ["eu-west-3", 48.86, 2.35],
  ["eu-central", 50.11, 8.68],
  ["eu-north", 59.33, 18.07],
  ["eu-south", 45.46, 9.19],
  ["me-south", 26.07, 50.56],
  ["af-south", -33.92, 18.42],
  ["ap-south", 19.08, 72.88],
  ["ap-southeast", 1.35, 103.82],
  ["ap-southeast-2", -33.87, 151.21],
  ["ap-northeast", 35.68, 139.65],
  ["ap-northeast-2", 37.57, 126.98],
  ["ap-east", 22.32, 114.17],
];
const TRUSTED_PEER = "10.0.0.1";
const WINDOW = 64;
const WARMUP_BATCHES = 30;
const WARMUP_MS = 300;
/** A timed batch aims at about this long. */
const TARGET_BATCH_NS = 2e6;
const COOKIE_SECRET = "bench-secret-0123456789abcdef";

// ---------------------------------------------------------------------------
// Worker side

/** A small deterministic PRNG (mulberry32), so every run sees the same IPs. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random unicast public IPv4 (no private, loopback, CGNAT, link-local, multicast or reserved block). */
function publicIpv4(random) {
  for (;;) {
    const a = 1 + Math.floor(random() * 223);
    const b = Math.floor(random() * 256);
    if (a === 10 || a === 127 || (a === 100 && b >= 64 && b < 128) || (a === 169 && b === 254)) continue;
    if ((a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168) || (a === 198 && (b === 18 || b === 19)))
      continue;
    return `${a}.${b}.${Math.floor(random() * 256)}.${1 + Math.floor(random() * 254)}`;
  }
}

function backendSpecs() {
  const specs = [];
  for (let i = 0; i < BACKENDS; i++) {
    const [region, latitude, longitude] = REGIONS[i % REGIONS.length];
    const site = Math.floor(i / REGIONS.length) % 5;
    specs.push({
      id: `b${i}`,
      address: `127.0.0.1:${10_000 + i}`,
      region,
      latitude: latitude + site * 0.05,
      longitude: longitude + site * 0.05,
    });
  }
  return specs;
}

/** Request contexts for a lookup mode; the list is cycled. */
function contexts(mode) {
  const random = prng(6);
  const list = [];
  if (mode === "cached") {
    for (let i = 0; i < 1024; i++) list.push({ clientIp: publicIpv4(random), method: "GET", path: "/" });
  } else if (mode === "uncached") {
    for (let i = 0; i < 1 << 17; i++) list.push({ clientIp: publicIpv4(random), method: "GET", path: "/" });
  } else if (mode === "header") {
    // Half name a region, half give coordinates (512 distinct points near the regions).
    for (let i = 0; i < 1024; i++) {
      const [region, latitude, longitude] = REGIONS[i % REGIONS.length];
      const headers =
        i % 2 === 0
          ? { "x-client-region": region }
          : {
              "x-client-geo": `${(latitude + (i % 37) * 0.1).toFixed(3)},${(longitude + (i % 41) * 0.1).toFixed(3)}`,
            };
      list.push({ clientIp: TRUSTED_PEER, method: "GET", path: "/", headers });
    }
  } else throw new Error(`unknown mode ${mode}`);
  return list;
}

function warmUp(fn, count) {
  const deadline = performance.now() + WARMUP_MS;
  for (let i = 0; i < WARMUP_BATCHES * 10; i++) {
    fn(count);
    if (i >= WARMUP_BATCHES && performance.now() >= deadline) return;
  }
}

function nsPerOp(fn, count) {
  const start = process.hrtime.bigint();
  fn(count);
  return Number(process.hrtime.bigint() - start) / count;
}

/** Warms `fn`, sizes a batch to ~2 ms, then times `batches` batches; returns their ns/op. */
function timeBatches(fn, batches) {
  warmUp(fn, 256);
  let count = 256;
  while (count < 1 << 20 && nsPerOp(fn, count) * count < TARGET_BATCH_NS) count *= 2;
  const samples = [];
  for (let i = 0; i < batches; i++) samples.push(nsPerOp(fn, count));
  return { samples, batchSize: count };
}

async function decisionJob({ algorithm, mode, batches }) {
  const { acceptReady, createSelector, Pool } = await import("../dist/index.js");
  const geo =
    algorithm === "least-connections"
      ? undefined
      : { trustedProxies: [TRUSTED_PEER], cacheSize: mode === "uncached" ? 16 : 10_000 };
  const selector = createSelector(geo ? { name: algorithm, geo } : algorithm, {
    random: Math.random,
    now: () => performance.now(),
  });
  const pool = new Pool(backendSpecs());
  selector.rebuild(pool.backends);
  const ctxs = contexts(mode);
  const outcome = { status: 200, latencyMs: 1.5 };
  const ring = new Array(WINDOW).fill(undefined);
  let slot = 0;
  let c = 0;
  // A balancer's loop around each pick: close the attempt opened 64 picks ago, pick, open.
  const loop = (count) => {
    for (let i = 0; i < count; i++) {
      const old = ring[slot];
      if (old !== undefined) {
        old.inFlight--;
        selector.loadChanged?.(old);
        selector.observe?.(old, outcome);
      }
      const backend = selector.pick(ctxs[c], acceptReady);
      c = c + 1 === ctxs.length ? 0 : c + 1;
      if (backend === undefined) throw new Error("pick returned no backend");
      backend.inFlight++;
      selector.loadChanged?.(backend);
      ring[slot] = backend;
      slot = slot + 1 === WINDOW ? 0 : slot + 1;
    }
  };
  const decision = timeBatches(loop, batches);
  let lookup;
  if (selector.resolver) {
    const resolver = selector.resolver;
    let sink = 0;
    let r = 0;
    lookup = timeBatches((count) => {
      for (let i = 0; i < count; i++) {
        sink += resolver.resolve(ctxs[r]).source.length;
        r = r + 1 === ctxs.length ? 0 : r + 1;
      }
    }, batches);
    if (sink < 0) console.log(sink);
  }
  const sources = {};
  const sampled = ctxs.slice(0, 4096);
  if (selector.resolver) {
    for (const ctx of sampled) {
      const source = selector.resolver.resolve(ctx).source;
      sources[source] = (sources[source] ?? 0) + 1;
    }
  }
  return {
    decision,
    lookup,
    sources,
    sampled: sampled.length,
    cache: selector.resolver?.cacheStats(),
    regions: selector.regionStats ? Object.keys(selector.regionStats()).length : undefined,
  };
}

async function cookieJob({ batches }) {
  const { affinityCookieKey, sealAffinityCookie, openAffinityCookie } = await import(
    "../dist/affinity/cookie.js"
  );
  const key = affinityCookieKey(COOKIE_SECRET);
  const expiresAt = Date.now() + 30 * 60_000;
  const ids = Array.from({ length: BACKENDS }, (_, i) => `b${i}`);
  const payloads = ids.map((id) => Buffer.from(`${id}.${expiresAt}`, "utf8").toString("base64url"));
  const cookies = ids.map((id) => sealAffinityCookie(key, id, expiresAt).value);
  const now = Date.now();
  let sink = 0;
  let k = 0;
  const next = () => {
    k = k + 1 === BACKENDS ? 0 : k + 1;
    return k;
  };
  const hmac = timeBatches((count) => {
    for (let i = 0; i < count; i++)
      sink += createHmac("sha256", COOKIE_SECRET).update(payloads[next()]).digest().length;
  }, batches);
  const sign = timeBatches((count) => {
    for (let i = 0; i < count; i++) sink += sealAffinityCookie(key, ids[next()], expiresAt).value.length;
  }, batches);
  const verify = timeBatches((count) => {
    for (let i = 0; i < count; i++) {
      const cookie = openAffinityCookie(key, cookies[next()], now);
      if (cookie === undefined) throw new Error("a sealed cookie did not open");
      sink += cookie.expiresAt;
    }
  }, batches);
  if (sink < 0) console.log(sink);
  return { hmac, sign, verify };
}

async function worker(job) {
  try {
    const result = job.kind === "cookie" ? await cookieJob(job) : await decisionJob(job);
    process.send({ type: "result", ...result }, () => process.exit(0));
  } catch (error) {
    process.send({ type: "error", message: error?.stack ?? String(error) }, () => process.exit(1));
  }
}

// ---------------------------------------------------------------------------
// Parent side

async function runJob(job) {
  const { startChild, stopChild, waitMessage } = await import("./lib/children.js");
  const handle = startChild({
    name: `geo-worker ${job.kind} ${job.algorithm ?? ""} ${job.mode ?? ""}`,
    command: process.execPath,
    args: [SELF, "--worker", JSON.stringify(job)],
    ipc: true,
  });
  try {
    return await waitMessage(handle, (m) => m.type === "result" || m.type === "error", 300_000);
  } finally {
    await stopChild(handle);
  }
}

const p50 = (timed) => quantile(timed.samples, 0.5);
const p99 = (timed) => quantile(timed.samples, 0.99);

export async function runGeoBench() {
  const batches = envInt("BENCH_GEO_BATCHES", 200);
  const loadAtStart = os.loadavg()[0];
  console.log(
    `geo bench: ${BACKENDS} backends in ${REGIONS.length} regions, ${batches} batches per measurement`,
  );
  const reference = await runJob({
    kind: "decision",
    algorithm: "least-connections",
    mode: "cached",
    batches,
  });
  const referenceNs = p50(reference.decision);
  console.log(`  least-connections (reference) decision p50 ${fixed(referenceNs, 1)} ns`);
  const modes = [
    ["cached", "GeoIP, LRU cache warm (1024 IPs repeating)"],
    ["uncached", "GeoIP, uncached (131072 distinct IPs, cacheSize 16)"],
    ["header", "trusted X-Client-Region / X-Client-Geo"],
  ];
  const rows = [
    [
      "least-connections (reference)",
      "—",
      fixed(referenceNs, 1),
      fixed(p99(reference.decision), 1),
      "1.0",
      "—",
      "—",
      String(reference.decision.batchSize),
    ],
  ];
  const notes = [];
  for (const algorithm of ["geographical", "geo-proximity"]) {
    for (const [mode, label] of modes) {
      const result = await runJob({ kind: "decision", algorithm, mode, batches });
      const decisionNs = p50(result.decision);
      rows.push([
        algorithm,
        label,
        fixed(decisionNs, 1),
        fixed(p99(result.decision), 1),
        fixed(decisionNs / referenceNs, 1),
        fixed(p50(result.lookup), 1),
        Object.entries(result.sources)
          .map(([source, count]) => `${source} ${((100 * count) / result.sampled).toFixed(0)}%`)
          .join(", "),
        String(result.decision.batchSize),
      ]);
      console.log(
        `  ${algorithm.padEnd(14)} ${mode.padEnd(9)} decision p50 ${fixed(decisionNs, 1)} ns (${fixed(decisionNs / referenceNs, 1)}× LC), ` +
          `lookup p50 ${fixed(p50(result.lookup), 1)} ns, cache ${JSON.stringify(result.cache)}`,
      );
      if (mode === "uncached" && result.cache)
        notes.push(
          `- ${algorithm} uncached: cache hits ${result.cache.hits}, misses ${result.cache.misses} over the run (hits are only the 16-entry LRU's own reuse).`,
        );
    }
  }
  const cookie = await runJob({ kind: "cookie", batches });
  const hmacNs = p50(cookie.hmac);
  const cookieRows = [
    ["HMAC-SHA256 of the payload (reference)", fixed(hmacNs, 1), fixed(p99(cookie.hmac), 1), "1.0"],
    [
      "sealAffinityCookie",
      fixed(p50(cookie.sign), 1),
      fixed(p99(cookie.sign), 1),
      fixed(p50(cookie.sign) / hmacNs, 2),
    ],
    [
      "openAffinityCookie",
      fixed(p50(cookie.verify), 1),
      fixed(p99(cookie.verify), 1),
      fixed(p50(cookie.verify) / hmacNs, 2),
    ],
  ];
  console.log(
    `  cookie: hmac ${fixed(hmacNs, 1)} ns, sign ${fixed(p50(cookie.sign), 1)} ns, verify ${fixed(p50(cookie.verify), 1)} ns`,
  );

  const decisionTable = markdownTable(
    [
      "algorithm",
      "client location",
      "decision p50 ns",
      "p99 ns",
      "p50 × LC",
      "lookup alone p50 ns",
      "resolved by",
      "ops/batch",
    ],
    rows,
  );
  const cookieTable = markdownTable(["operation", "p50 ns", "p99 ns", "p50 × HMAC"], cookieRows);
  const allNotes = [
    `- ${BACKENDS} backends in ${REGIONS.length} regions (real city coordinates), 5 sites per region 0.05° apart, 10 backends per site, weight 1.`,
    "- decision = the balancer's loop around one pick: close the attempt opened 64 picks ago (inFlight--, loadChanged, observe, which feeds the per-region latency), pick, open (inFlight++, loadChanged); the same loop for least-connections over the same pool is the reference (its own child process, same run).",
    "- lookup alone = `selector.resolver.resolve(ctx)` over the same contexts, the part of a decision spent locating the client.",
    "- GeoIP: the shipped default database; uncached contexts are 131072 seeded-random public IPv4s in turn with cacheSize 16, so each decision misses the cache and reads the database. Header contexts come from a trusted peer: half `X-Client-Region`, half `X-Client-Geo: lat,lon` (512 distinct points).",
    "- resolved by: share of the distinct contexts (the first 4096 when there are more) by location source (none = not in the database: the decision falls back to least in flight over the pool).",
    "- cookie: 1000 backend ids in turn; the reference is `createHmac('sha256', secret).update(payload).digest()` of the same payload string. seal = random IV + AES-256-GCM of the payload + base64url; open = base64url decode, AES-256-GCM decrypt and tag check, parse, expiry check (the key is derived once, as the balancer does).",
    "- p50/p99 over batches (each batch's ns/op; batches sized to ~2 ms), after ≥30 warm-up batches and 300 ms. Compare ratios from one run, not absolute ns across runs.",
    ...notes,
  ];
  const header =
    `${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? "?"}), no pinning, ` +
    `load average (1 min) ${loadAtStart.toFixed(2)} at start, ${os.loadavg()[0].toFixed(2)} at end`;
  const report = [
    "# Geo decision and affinity cookie benchmark (bench/geo.js)",
    "",
    header,
    "",
    "## ns per geo decision",
    "",
    decisionTable,
    "",
    "## Affinity cookie, per request",
    "",
    cookieTable,
    "",
    ...allNotes,
    "",
  ].join("\n");
  console.log(`\n${header}\n\n${decisionTable}\n\n${cookieTable}\n\n${allNotes.join("\n")}\n`);
  await writeFile(RESULTS, report);
  console.log(`wrote ${RESULTS}`);
}

if (process.argv[2] === "--worker") {
  await worker(JSON.parse(process.argv[3]));
} else if (process.argv[1] === SELF) {
  const { stopAll } = await import("./lib/children.js");
  runGeoBench()
    .catch((error) => {
      console.error(error);
      process.exitCode = 1;
    })
    .finally(stopAll);
}
