/**
 * One measurement of bench/select.js, run in its own process so every call
 * site it times sees one selector class (as a running balancer does) and no
 * earlier measurement's JIT feedback. Takes a JSON job in argv[2], answers one
 * JSON result over IPC.
 *
 * Jobs:
 *   { kind: "pick", measure: "time" | "alloc", algorithm, sizes, batches, batchSize }
 *   { kind: "e2e",  measure: "time" | "alloc", algorithm, sizes, batches, batchSize }
 * `batchSize` is the most ops per timed batch; slow selectors get fewer, sized
 * so a batch lasts about 2 ms (the ops per batch are reported back).
 *   { kind: "calibrate" }  (allocation of a known object, to check the method)
 *
 * The load model follows the balancer: a pick opens an attempt (inFlight++,
 * loadChanged), and the attempt is closed WINDOW picks later (inFlight--,
 * requests++, recordLatency, loadChanged, observe), so 64 requests are always
 * in flight and load-aware selectors do their real index maintenance.
 *
 * "pick ns" is (loop with pick) − (the same loop replaying the picks it
 * recorded), so the open/close bookkeeping is excluded from the pick cost and
 * reported on its own.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { acceptReady, createBalancer, createSelector, Pool, seededRandom } from "../../dist/index.js";

const WINDOW = 64;
const CONTEXTS = 1024; // power of two
/** Picks recorded for the replay loop: 4 batches' worth, within these bounds. */
const RECORDED_MIN = 1024;
const RECORDED_MAX = 1 << 16;
/** A timed batch aims at this long, so slow (O(n)) selectors get fewer ops per batch. */
const TARGET_BATCH_NS = 2e6;
const MIN_BATCH = 16;
/** Allocation is measured over about this long of work, within [1000, 100000] ops. */
const ALLOC_TARGET_NS = 3e8;
const OUTCOMES = 8; // power of two

const job = JSON.parse(process.argv[2]);
/** The balancer's default is Math.random; BENCH_SEEDED_RANDOM=1 injects seededRandom(1) instead. */
const RANDOM = process.env.BENCH_SEEDED_RANDOM === "1" ? seededRandom(1) : Math.random;
/** Warm-up per loop: at least this many batches and this long, so timed code is optimized. */
const WARMUP_BATCHES = 30;
const WARMUP_MS = 300;

function backendSpecs(count) {
  const specs = [];
  for (let i = 0; i < count; i++) {
    specs.push({ id: `b${i}`, address: `127.0.0.1:${10_000 + i}`, weight: 1 + (i % 3) });
  }
  return specs;
}

/** Varied request contexts, so key-hashing algorithms do not hash one cached key. */
function contexts() {
  const list = [];
  for (let i = 0; i < CONTEXTS; i++) {
    const clientIp = `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
    list.push({
      clientIp,
      method: "GET",
      path: `/item/${i}`,
      headers: { host: "bench.local", "x-user": `user-${i}` },
      cookies: { session: `s${i}` },
      sessionId: `s${i}`,
    });
  }
  return list;
}

function outcomes() {
  const list = [];
  for (let i = 0; i < OUTCOMES; i++) list.push({ status: 200, latencyMs: 1 + (i % 4) * 0.5 });
  return list;
}

function pickState(algorithm, size) {
  const pool = new Pool(backendSpecs(size));
  const selector = createSelector(algorithm, { random: RANDOM, now: () => performance.now() });
  selector.rebuild(pool.backends);
  return {
    selector,
    backends: pool.backends,
    ring: new Array(WINDOW).fill(undefined),
    ctxs: contexts(),
    outcomes: outcomes(),
    accept: acceptReady,
    recorded: [],
    slot: 0,
    ctx: 0,
    replay: 0,
  };
}

/** Closes an attempt as the balancer does. */
function close(selector, backend, outcome) {
  backend.inFlight--;
  backend.requests++;
  backend.recordLatency(outcome.latencyMs);
  if (selector.loadChanged !== undefined) selector.loadChanged(backend);
  if (selector.observe !== undefined) selector.observe(backend, outcome);
}

/** The measured loop: close the attempt leaving the window, pick, open. */
function pickLoop(state, count) {
  const { selector, ring, ctxs, accept, outcomes } = state;
  let slot = state.slot;
  let c = state.ctx;
  for (let i = 0; i < count; i++) {
    const old = ring[slot];
    if (old !== undefined) close(selector, old, outcomes[slot & (OUTCOMES - 1)]);
    const ctx = ctxs[c];
    c = (c + 1) & (CONTEXTS - 1);
    const backend = selector.pick(ctx, accept);
    if (backend === undefined) throw new Error("pick returned no backend");
    backend.inFlight++;
    if (selector.loadChanged !== undefined) selector.loadChanged(backend);
    ring[slot] = backend;
    slot = slot + 1 === WINDOW ? 0 : slot + 1;
  }
  state.slot = slot;
  state.ctx = c;
}

/** Same as pickLoop, but keeps `count` picks for the replay loop. */
function recordLoop(state, count) {
  const { selector, ring, ctxs, accept, outcomes } = state;
  const recorded = new Array(count).fill(undefined);
  state.recorded = recorded;
  state.replay = 0;
  let slot = state.slot;
  let c = state.ctx;
  for (let i = 0; i < count; i++) {
    const old = ring[slot];
    if (old !== undefined) close(selector, old, outcomes[slot & (OUTCOMES - 1)]);
    const ctx = ctxs[c];
    c = (c + 1) & (CONTEXTS - 1);
    const backend = selector.pick(ctx, accept);
    if (backend === undefined) throw new Error("pick returned no backend");
    recorded[i] = backend;
    backend.inFlight++;
    if (selector.loadChanged !== undefined) selector.loadChanged(backend);
    ring[slot] = backend;
    slot = slot + 1 === WINDOW ? 0 : slot + 1;
  }
  state.slot = slot;
  state.ctx = c;
}

/** pickLoop with the pick replaced by the recorded sequence: the bookkeeping alone. */
function replayLoop(state, count) {
  const { selector, ring, ctxs, outcomes, recorded } = state;
  let slot = state.slot;
  let c = state.ctx;
  const length = recorded.length;
  let r = state.replay;
  let sink = 0;
  for (let i = 0; i < count; i++) {
    const old = ring[slot];
    if (old !== undefined) close(selector, old, outcomes[slot & (OUTCOMES - 1)]);
    const ctx = ctxs[c];
    c = (c + 1) & (CONTEXTS - 1);
    sink += ctx.method.length;
    const backend = recorded[r];
    r = r + 1 === length ? 0 : r + 1;
    backend.inFlight++;
    if (selector.loadChanged !== undefined) selector.loadChanged(backend);
    ring[slot] = backend;
    slot = slot + 1 === WINDOW ? 0 : slot + 1;
  }
  state.slot = slot;
  state.ctx = c;
  state.replay = r;
  return sink;
}

/** The reference: a plain array-index read loop over the same backends. */
function referenceLoop(backends, count) {
  const n = backends.length;
  let index = 0;
  let sum = 0;
  for (let i = 0; i < count; i++) {
    sum += backends[index].inFlight;
    index = index + 1 === n ? 0 : index + 1;
  }
  return sum;
}

function e2eState(algorithm, size) {
  return {
    balancer: createBalancer({ backends: backendSpecs(size), algorithm, random: RANDOM }),
    ring: new Array(WINDOW).fill(undefined),
    ctxs: contexts(),
    outcomes: outcomes(),
    slot: 0,
    ctx: 0,
  };
}

/** balancer.select() + decision.finish(), a window of 64 decisions open. */
function e2eLoop(state, count) {
  const { balancer, ring, ctxs, outcomes } = state;
  let slot = state.slot;
  let c = state.ctx;
  for (let i = 0; i < count; i++) {
    const old = ring[slot];
    if (old !== undefined) old.finish(outcomes[slot & (OUTCOMES - 1)]);
    const decision = balancer.select(ctxs[c]);
    c = (c + 1) & (CONTEXTS - 1);
    ring[slot] = decision;
    slot = slot + 1 === WINDOW ? 0 : slot + 1;
  }
  state.slot = slot;
  state.ctx = c;
}

/** Runs `fn(count)` until both the batch and the time minimum are met (bounded by 10× the batches). */
function warmUp(fn, count) {
  const deadline = performance.now() + WARMUP_MS;
  for (let i = 0; i < WARMUP_BATCHES * 10; i++) {
    fn(count);
    if (i >= WARMUP_BATCHES && performance.now() >= deadline) return;
  }
}

/**
 * Ops per batch for `fn`: doubles a probe until it runs 2 ms, then sizes a
 * batch to TARGET_BATCH_NS, capped at `maxOps`. Also returns the probe's ns/op.
 */
function fitBatch(fn, maxOps) {
  // A first probe on cold code only sizes the warm-up; the real probe runs warm.
  warmUp(fn, probe(fn, maxOps).batch);
  return probe(fn, maxOps);
}

function probe(fn, maxOps) {
  let ops = MIN_BATCH;
  let ns = 0;
  for (let i = 0; i < 20; i++) {
    const start = process.hrtime.bigint();
    fn(ops);
    ns = Number(process.hrtime.bigint() - start);
    if (ns >= 2e6 || ops >= maxOps) break;
    ops *= 2;
  }
  const nsPerOp = Math.max(ns / ops, 0.1);
  return { batch: Math.max(MIN_BATCH, Math.min(maxOps, Math.round(TARGET_BATCH_NS / nsPerOp))), nsPerOp };
}

function recordedLength(batch) {
  return Math.max(RECORDED_MIN, Math.min(RECORDED_MAX, batch * 4));
}

function allocOps(nsPerOp) {
  return Math.max(1000, Math.min(100_000, Math.round(ALLOC_TARGET_NS / nsPerOp)));
}

function timeBatch(fn, count) {
  const start = process.hrtime.bigint();
  fn(count);
  return Number(process.hrtime.bigint() - start) / count;
}

function medianOf(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >>> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function referenceNs(backends, batches, batchSize) {
  const samples = [];
  let sink = 0;
  const run = (count) => {
    sink += referenceLoop(backends, count);
  };
  warmUp(run, batchSize);
  for (let i = 0; i < batches; i++) samples.push(timeBatch(run, batchSize));
  if (sink < 0) console.log(sink);
  return medianOf(samples);
}

function timePick(algorithm, size, batches, maxBatch) {
  const state = pickState(algorithm, size);
  const pick = (count) => pickLoop(state, count);
  let sink = 0;
  const replay = (count) => {
    sink += replayLoop(state, count);
  };
  // Warm-up: both loops reach optimized code before anything is timed.
  const { batch: batchSize } = fitBatch(pick, maxBatch);
  warmUp(pick, batchSize);
  recordLoop(state, recordedLength(batchSize));
  warmUp(replay, batchSize);
  const withPick = [];
  const bookkeeping = [];
  for (let i = 0; i < batches; i++) {
    withPick.push(timeBatch(pick, batchSize));
    bookkeeping.push(timeBatch(replay, batchSize));
  }
  if (sink < 0) console.log(sink);
  const base = medianOf(bookkeeping);
  return {
    size,
    pickNs: withPick.map((ns) => ns - base),
    cycleNs: medianOf(withPick),
    bookkeepingNs: base,
    referenceNs: referenceNs(state.backends, batches, maxBatch),
    batchSize,
  };
}

function timeE2e(algorithm, size, batches, maxBatch) {
  const state = e2eState(algorithm, size);
  const run = (count) => e2eLoop(state, count);
  const { batch: batchSize } = fitBatch(run, maxBatch);
  warmUp(run, batchSize);
  const samples = [];
  for (let i = 0; i < batches; i++) samples.push(timeBatch(run, batchSize));
  return {
    size,
    ns: samples,
    referenceNs: referenceNs(state.balancer.pool.backends, batches, maxBatch),
    batchSize,
  };
}

// --- allocation -----------------------------------------------------------

let gcCount = 0;
new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
}).observe({ entryTypes: ["gc"] });

/**
 * Bytes allocated per op by `fn(count)`: heapUsed growth over `count` ops with
 * no GC in between (the child runs with a 64 MB semi-space so none is due; a
 * window that saw a GC is retried with fewer ops). The fixed cost of taking
 * the measurement is subtracted.
 */
async function bytesPerOp(fn, count) {
  if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
  const measure = async (n) => {
    globalThis.gc();
    await sleep(20);
    const gcBefore = gcCount;
    const before = process.memoryUsage().heapUsed;
    fn(n);
    const after = process.memoryUsage().heapUsed;
    await sleep(20);
    return gcCount === gcBefore ? after - before : undefined;
  };
  for (let n = count, attempt = 0; attempt < 6; attempt++, n = Math.floor(n / 4)) {
    const fixed = await measure(0);
    const total = await measure(n);
    if (fixed !== undefined && total !== undefined) return Math.max(0, (total - fixed) / n);
  }
  return Number.NaN;
}

async function allocPick(algorithm, size, maxBatch) {
  const state = pickState(algorithm, size);
  const { batch: batchSize, nsPerOp } = fitBatch((n) => pickLoop(state, n), maxBatch);
  warmUp((n) => pickLoop(state, n), batchSize);
  recordLoop(state, recordedLength(batchSize));
  warmUp((n) => replayLoop(state, n), batchSize);
  const count = allocOps(nsPerOp);
  return {
    size,
    cycleBytes: await bytesPerOp((n) => pickLoop(state, n), count),
    bookkeepingBytes: await bytesPerOp((n) => replayLoop(state, n), count),
  };
}

async function allocE2e(algorithm, size, maxBatch) {
  const state = e2eState(algorithm, size);
  const { batch: batchSize, nsPerOp } = fitBatch((n) => e2eLoop(state, n), maxBatch);
  warmUp((n) => e2eLoop(state, n), batchSize);
  return { size, bytes: await bytesPerOp((n) => e2eLoop(state, n), allocOps(nsPerOp)) };
}

async function calibrate() {
  const ring = new Array(WINDOW).fill(undefined);
  const loop = (n) => {
    for (let i = 0; i < n; i++) ring[i & (WINDOW - 1)] = { a: i, b: i };
  };
  warmUp(loop, 10_000);
  return { objectBytes: await bytesPerOp(loop, 100_000) };
}

async function main() {
  const { kind, measure, algorithm, sizes = [], batches = 200, batchSize = 10_000 } = job;
  if (kind === "calibrate") return calibrate();
  const results = [];
  for (const size of sizes) {
    if (kind === "pick") {
      results.push(
        measure === "time"
          ? timePick(algorithm, size, batches, batchSize)
          : await allocPick(algorithm, size, batchSize),
      );
    } else if (kind === "e2e") {
      results.push(
        measure === "time"
          ? timeE2e(algorithm, size, batches, batchSize)
          : await allocE2e(algorithm, size, batchSize),
      );
    } else {
      throw new Error(`unknown job kind ${kind}`);
    }
  }
  return { results };
}

main().then(
  (result) => {
    process.send({ type: "result", ...result }, () => process.exit(0));
  },
  (error) => {
    process.send({ type: "error", message: error?.stack ?? String(error) }, () => process.exit(1));
  },
);
