/**
 * A small, bounded HTTP load generator for the load lab: it sends requests
 * to a loopback address only (127.0.0.1, ::1, localhost), either at a fixed
 * rate (evenly spaced sends, timer-driven) or with a fixed number of
 * concurrent loops, for at most 60 s (and, when asked, at most N requests). Requests go through one keep-alive
 * undici Pool; each has its own timeout. The run is cancellable with an
 * AbortSignal and reports progress while it goes. A request fails (counts in
 * `errors`) when it gets a 5xx answer or no answer at all: a proxy answers
 * 502/503/504 for the backends it could not reach, and those are failures.
 */
import { performance } from "node:perf_hooks";
import { Pool } from "undici";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { quantilesInPlace, round3 } from "./run-results.js";

export const MAX_LOAD_DURATION_MS = 60_000;
export const MAX_LOAD_RATE = 10_000;
export const MAX_LOAD_CONCURRENCY = 256;
export const MAX_LOAD_REQUESTS = 1_000_000;
export const DEFAULT_LOAD_TIMEOUT_MS = 5_000;
const MAX_POOL_CONNECTIONS = 64;
const DEFAULT_PROGRESS_INTERVAL_MS = 250;
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "[::1]", "::1", "localhost"]);

export type LoadMode = { rate: number } | { concurrency: number };

export interface LoadOptions {
  /** Base URL, e.g. `http://127.0.0.1:8080`; must be a loopback address. */
  url: string;
  /** Default GET. */
  method?: string;
  /** Request path (and query); default the URL's own path, else "/". */
  path?: string;
  mode: LoadMode;
  /** 1..60000 ms. */
  durationMs: number;
  /** Stop after sending this many requests (1..1000000), even before `durationMs`; default no limit. */
  requests?: number;
  /** Per request, default 5000 ms. */
  timeoutMs?: number;
  /** Cancels the run: no new sends, in-flight requests are aborted. */
  signal?: AbortSignal;
  /** How often `onProgress` is called; default 250 ms. */
  progressIntervalMs?: number;
}

export interface LatencySummary {
  /** Milliseconds, exact (nearest rank over the latencies of completed requests); 0 when none. */
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadProgress {
  elapsedMs: number;
  sent: number;
  /** Requests answered, whatever the status. */
  completed: number;
  /** Requests that failed: answered with a 5xx status, or not answered at all. */
  errors: number;
  /** The errors that got no answer (refused, reset, timed out); the others are `statusClasses["5xx"]`. */
  unanswered: number;
  statusClasses: Record<string, number>;
  /** Completed requests per second so far. */
  rps: number;
  latency: LatencySummary;
}

export interface LoadResult extends LoadProgress {
  /** ms since the epoch. */
  startedAt: number;
  /** Wall time from the first send until the last answer. */
  durationMs: number;
  /** True when the run was cancelled before its end. */
  aborted: boolean;
  mode: LoadMode;
}

interface Validated {
  origin: string;
  path: string;
  method: string;
  mode: LoadMode;
  durationMs: number;
  requests: number;
  timeoutMs: number;
  progressIntervalMs: number;
}

function invalid(message: string): SwitchyardError {
  return new SwitchyardError(ErrorCodes.INVALID_OPTIONS, message);
}

function wholeIn(value: unknown, min: number, max: number, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be a whole number from ${min} to ${max}; got ${String(value)}`);
  }
  return value;
}

/** Throws SY_ERR_INVALID_OPTIONS when `runLoad` would refuse these options; sends nothing. */
export function checkLoadOptions(options: LoadOptions): void {
  validate(options);
}

function validate(options: LoadOptions): Validated {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw invalid(`url is not a valid URL: ${String(options.url)}`);
  }
  if (url.protocol !== "http:") throw invalid(`url must be http:, got ${url.protocol}`);
  if (!LOOPBACK_HOSTS.has(url.hostname.toLowerCase())) {
    throw invalid(`url must point at 127.0.0.1, ::1 or localhost; got ${url.hostname}`);
  }
  const path = options.path ?? (url.pathname + url.search || "/");
  if (!path.startsWith("/")) throw invalid(`path must start with "/"; got ${path}`);
  const method = (options.method ?? "GET").toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw invalid(`method is not valid: ${method}`);
  const mode = options.mode as Partial<{ rate: number; concurrency: number }> | undefined;
  const hasRate = mode?.rate !== undefined;
  const hasConcurrency = mode?.concurrency !== undefined;
  if (hasRate === hasConcurrency) throw invalid("mode must have exactly one of rate, concurrency");
  const checkedMode: LoadMode = hasRate
    ? { rate: wholeIn(mode?.rate, 1, MAX_LOAD_RATE, "rate") }
    : { concurrency: wholeIn(mode?.concurrency, 1, MAX_LOAD_CONCURRENCY, "concurrency") };
  return {
    origin: url.origin,
    path,
    method,
    mode: checkedMode,
    durationMs: wholeIn(options.durationMs, 1, MAX_LOAD_DURATION_MS, "durationMs"),
    requests:
      options.requests === undefined
        ? Number.POSITIVE_INFINITY
        : wholeIn(options.requests, 1, MAX_LOAD_REQUESTS, "requests"),
    timeoutMs: wholeIn(options.timeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS, 1, MAX_LOAD_DURATION_MS, "timeoutMs"),
    progressIntervalMs: wholeIn(
      options.progressIntervalMs ?? DEFAULT_PROGRESS_INTERVAL_MS,
      10,
      MAX_LOAD_DURATION_MS,
      "progressIntervalMs",
    ),
  };
}

export function summarizeLatencies(latencies: readonly number[]): LatencySummary {
  if (latencies.length === 0) return { p50: 0, p95: 0, p99: 0, max: 0, mean: 0 };
  const values = Float64Array.from(latencies);
  let sum = 0;
  let max = 0;
  for (const value of values) {
    sum += value;
    if (value > max) max = value;
  }
  // Exact (nearest rank), as the simulator reports them: a histogram would round.
  const [p50, p95, p99] = quantilesInPlace(values, [0.5, 0.95, 0.99]) as [number, number, number];
  return {
    p50: round3(p50),
    p95: round3(p95),
    p99: round3(p99),
    max: round3(max),
    mean: round3(sum / values.length),
  };
}

/**
 * Runs one bounded load test. Rejects (SY_ERR_INVALID_OPTIONS) on bad options
 * before sending anything; otherwise resolves with the result, also when
 * cancelled (`aborted: true`).
 */
export async function runLoad(
  options: LoadOptions,
  onProgress?: (progress: LoadProgress) => void,
): Promise<LoadResult> {
  const config = validate(options);
  const { mode, durationMs, requests, timeoutMs } = config;
  const connections =
    "rate" in mode
      ? Math.max(1, Math.min(Math.ceil(mode.rate / 10), MAX_POOL_CONNECTIONS))
      : Math.min(mode.concurrency, MAX_POOL_CONNECTIONS * 4);
  const pool = new Pool(config.origin, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 10_000,
    connect: { timeout: timeoutMs },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });

  let sent = 0;
  let completed = 0;
  let errors = 0;
  let unanswered = 0;
  const statusClasses: Record<string, number> = {};
  const latencies: number[] = [];
  const startedAt = Date.now();
  const start = performance.now();
  const deadline = start + durationMs;

  const progress = (): LoadProgress => {
    const elapsedMs = Math.round(performance.now() - start);
    return {
      elapsedMs,
      sent,
      completed,
      errors,
      unanswered,
      statusClasses: { ...statusClasses },
      rps: elapsedMs > 0 ? round3((completed * 1000) / elapsedMs) : 0,
      latency: summarizeLatencies(latencies),
    };
  };

  const one = async (): Promise<void> => {
    sent++;
    const began = performance.now();
    try {
      const response = await pool.request({
        path: config.path,
        method: config.method as "GET",
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(timeoutMs)]),
      });
      await response.body.dump({ limit: 1 << 20 }).catch(() => undefined);
      completed++;
      latencies.push(performance.now() - began);
      const statusClass = `${Math.floor(response.statusCode / 100)}xx`;
      statusClasses[statusClass] = (statusClasses[statusClass] ?? 0) + 1;
      if (response.statusCode >= 500) errors++;
    } catch {
      errors++;
      unanswered++;
    }
  };

  const inFlight = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    inFlight.add(promise);
    promise.finally(() => inFlight.delete(promise));
  };

  const progressTimer = onProgress
    ? setInterval(() => onProgress(progress()), config.progressIntervalMs)
    : undefined;
  progressTimer?.unref?.();

  try {
    if ("rate" in mode) {
      const total = Math.min(requests, Math.max(1, Math.floor((mode.rate * durationMs) / 1000)));
      const spacingMs = 1000 / mode.rate;
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const finish = () => {
          if (timer) clearTimeout(timer);
          stop.signal.removeEventListener("abort", finish);
          resolve();
        };
        stop.signal.addEventListener("abort", finish, { once: true });
        const tick = () => {
          if (stop.signal.aborted) return;
          const now = performance.now();
          const due = Math.min(total, Math.floor((now - start) / spacingMs) + 1);
          while (sent < due) track(one());
          if (sent >= total || now >= deadline) {
            finish();
            return;
          }
          const nextAt = start + sent * spacingMs;
          timer = setTimeout(tick, Math.max(0, nextAt - performance.now()));
        };
        if (stop.signal.aborted) finish();
        else tick();
      });
    } else {
      const loop = async () => {
        while (!stop.signal.aborted && sent < requests && performance.now() < deadline) await one();
      };
      await Promise.all(Array.from({ length: mode.concurrency }, loop));
    }
    await Promise.all([...inFlight]);
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    options.signal?.removeEventListener("abort", onAbort);
    await pool.destroy().catch(() => undefined);
  }
  const final = progress();
  return {
    ...final,
    startedAt,
    durationMs: final.elapsedMs,
    aborted: stop.signal.aborted,
    mode,
  };
}
