/**
 * The measuring around one load run shared by bench/proxy.js and bench/edge.js:
 * wait for the proxy core to be quiet, then take the target's CPU time, the
 * load generator's, and each pinned core's busy time not spent by our own
 * processes ("others", from /proc/stat), and summarize rounds by their median.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { cpuBusySeconds, cpuSeconds } from "./proc.js";
import { fixed, median } from "./stats.js";

/** A run during which other processes used more than this share of either core is "contended". */
export const OTHERS_LIMIT = 0.15;

/** A core busier than this (others' work) before a run makes the run wait. */
export const QUIET_SHARE = 0.2;

/**
 * Waits (at most `maxMs`) until `cpu` is at most QUIET_SHARE busy over one
 * second, so a run does not start while other work holds the proxy core.
 */
export async function waitQuiet(cpu, maxMs) {
  const started = Date.now();
  let busy = 1;
  while (Date.now() - started <= maxMs) {
    const before = await cpuBusySeconds(cpu);
    await sleep(1_000);
    busy = (await cpuBusySeconds(cpu)) - before;
    if (busy <= QUIET_SHARE) break;
  }
  return { ms: Date.now() - started, busy };
}

/**
 * Before a run: waits (at most `maxSec`) for the proxy core `cpu` to be quiet,
 * records the wait in `waits` for quietWaitNote, and logs when it stayed busy.
 */
export async function waitBeforeRun(cpu, maxSec, waits, log) {
  if (cpu === undefined) return;
  const waited = await waitQuiet(cpu, maxSec * 1000);
  waits.push(waited);
  if (waited.busy > QUIET_SHARE)
    log(
      `  CPU ${cpu} still ${fixed(waited.busy * 100, 0)}% busy after waiting ${fixed(waited.ms / 1000, 0)} s; running anyway`,
    );
}

/**
 * Runs `run()`, which resolves with at least `{ ok, durationSec }`, and adds
 * the CPU figures: the target's share of its core and µs per ok request, the
 * load generator's share (`loadSeconds()` reads its CPU seconds so far, or a
 * generator started per run reports `loadCpuSec` in its result), and
 * others' share of each core. `alsoOnLoadCore` are the pids of our other
 * processes pinned to the load core (the backend); `targetOnLoadCore` says the
 * target itself runs there (the backend measured directly), so all of the
 * proxy core's use is others'.
 */
export async function measureRun({
  run,
  targetPid,
  loadSeconds,
  alsoOnLoadCore = [],
  proxyCpu,
  loadCpu,
  targetOnLoadCore = false,
}) {
  const others = alsoOnLoadCore.filter((pid) => pid !== targetPid || !targetOnLoadCore);
  const othersCpu = async () => {
    let sum = 0;
    for (const pid of others) sum += await cpuSeconds(pid);
    return sum;
  };
  const proxyCoreBefore = proxyCpu === undefined ? Number.NaN : await cpuBusySeconds(proxyCpu);
  const loadCoreBefore = loadCpu === undefined ? Number.NaN : await cpuBusySeconds(loadCpu);
  const cpuBefore = await cpuSeconds(targetPid);
  const loadBefore = loadSeconds === undefined ? 0 : await loadSeconds();
  const othersBefore = await othersCpu();
  const result = await run();
  const cpu = (await cpuSeconds(targetPid)) - cpuBefore;
  const loadCpuSec = result.loadCpuSec ?? (await loadSeconds()) - loadBefore;
  const ourOthersCpu = (await othersCpu()) - othersBefore;
  const proxyCoreBusy =
    proxyCpu === undefined ? Number.NaN : (await cpuBusySeconds(proxyCpu)) - proxyCoreBefore;
  const loadCoreBusy = loadCpu === undefined ? Number.NaN : (await cpuBusySeconds(loadCpu)) - loadCoreBefore;
  const onProxyCore = targetOnLoadCore ? 0 : cpu;
  const onLoadCore = loadCpuSec + ourOthersCpu + (targetOnLoadCore ? cpu : 0);
  return {
    ...result,
    cpuShare: cpu / result.durationSec,
    cpuUsPerRequest: result.ok > 0 ? (cpu / result.ok) * 1e6 : Number.NaN,
    loadCpuShare: loadCpuSec / result.durationSec,
    othersOnProxyCore: Math.max(0, proxyCoreBusy - onProxyCore) / result.durationSec,
    othersOnLoadCore: Math.max(0, loadCoreBusy - onLoadCore) / result.durationSec,
    direct: targetOnLoadCore,
  };
}

/** A run is quiet when others stayed under OTHERS_LIMIT on both cores (on the load core only for a direct run). */
export function isQuiet(r) {
  return (r.direct || !(r.othersOnProxyCore > OTHERS_LIMIT)) && !(r.othersOnLoadCore > OTHERS_LIMIT);
}

/** Medians over `runs` (quiet ones only with `onlyQuiet`) of what measureRun returns. */
export function summarizeRuns(runs = [], onlyQuiet = false) {
  const kept = runs.filter((r) => !onlyQuiet || isQuiet(r));
  const of = (key) => median(kept.map((r) => r[key]));
  return {
    rps: of("rps"),
    p50: of("p50"),
    p99: of("p99"),
    mean: of("mean"),
    cpuShare: of("cpuShare"),
    cpuUs: of("cpuUsPerRequest"),
    loadShare: of("loadCpuShare"),
    others: of("othersOnProxyCore"),
    othersLoad: of("othersOnLoadCore"),
    count: kept.length,
    failures: kept.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0),
  };
}

/** The report note on the waits before runs, or undefined when there were none. */
export function quietWaitNote(quietWaits, cpu, quietWaitSec) {
  if (quietWaits.length === 0) return undefined;
  const waitedMs = quietWaits.reduce((sum, w) => sum + Math.max(0, w.ms - 1_000), 0);
  const startedBusy = quietWaits.filter((w) => w.busy > QUIET_SHARE).length;
  return `before each run the bench waited for CPU ${cpu} to be ≤ ${QUIET_SHARE * 100}% busy for 1 s (at most ${quietWaitSec} s): waited ${fixed(waitedMs / 1000, 0)} s in all; ${startedBusy} of ${quietWaits.length} runs started on a busy core`;
}

/** The report note naming the targets with contended runs, or undefined when every run was quiet. */
export function contendedNote(labels) {
  if (labels.length === 0) return undefined;
  return `CONTENDED RUN: other processes used more than ${OTHERS_LIMIT * 100}% of CPU 0 or 1 during some runs of ${labels.join(", ")} (marked * per round); those runs measure the box, not the proxy. Prefer the quiet-rounds table, or re-run on a quiet machine.`;
}
