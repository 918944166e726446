/**
 * The agent poller (balancer side of SwarmGuard): every `pollIntervalMs` it
 * queries each distinct agent URL of a pool once, with a timeout, maps the
 * entries to backends by their `match`, and writes each backend's combined
 * CPU, memory and network figures into the pool's metrics store, where the
 * metrics-driven algorithms read them. The store, not the poller, decides
 * what is stale (its TTL), so a poll that fails simply lets figures age.
 *
 * Nothing an agent does reaches the routing path: a refused connection, a
 * timeout, a non-200 answer, an oversized or malformed body is caught,
 * counted and reported in `stats()` (per agent: last success, errors, the
 * last error, entries, backends left unmatched), and logged once when an
 * agent starts failing and once when it recovers. An agent still busy with
 * the previous query is skipped for the round rather than queried twice.
 * Credentials in an agent URL go out as HTTP Basic and are never shown
 * (agent-credentials.ts).
 */
import { performance } from "node:perf_hooks";
import { Agent as Dispatcher, request } from "undici";
import type { Backend } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import type { ResourceReportStats, ResourceReportStore } from "../load/resource-reports.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { type AgentRequestTarget, splitAgentCredentials } from "./agent-credentials.js";
import { type AgentTarget, agentEndpoint } from "./agent-options.js";
import { parseAgentReport } from "./agent-report.js";
import { type AgentEntry, combine, compileMatch, type EntryMatcher } from "./match.js";

export interface AgentPollerOptions {
  pool: Pool;
  store: ResourceReportStore;
  /** The agent of each backend id (the config's `backends[].agent`). */
  targets?: Readonly<Record<string, AgentTarget>> | ReadonlyMap<string, AgentTarget>;
  /** Default 1000 ms. */
  pollIntervalMs?: number;
  /** Default 500 ms. */
  timeoutMs?: number;
  /** Largest report accepted; default 4 MiB. */
  maxBodyBytes?: number;
  logger?: Logger;
  /** Wall clock for the reported times, Unix ms; default Date.now. */
  wallClock?: () => number;
}

export interface AgentStats {
  /** The agent's URL without its credentials. */
  url: string;
  /** Node name the agent reported. */
  node: string | undefined;
  /** Backends this agent reports on. */
  backends: string[];
  polls: number;
  successes: number;
  errors: number;
  consecutiveErrors: number;
  /** Rounds skipped because the previous query was still running. */
  skipped: number;
  /** Unix ms; null before the first success. */
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
  lastDurationMs: number | null;
  /** Entries in the last good report, and those dropped as malformed. */
  entries: number;
  rejectedEntries: number;
  /** Backends no entry of the last good report matched. */
  unmatched: string[];
}

export interface AgentPollerStats {
  pollIntervalMs: number;
  timeoutMs: number;
  agents: AgentStats[];
  /** The pool's metrics store: hit rate (fresh reads / reads), fallbacks, latest figures. */
  cache: ResourceReportStats;
}

interface ResolvedTarget {
  endpoint: string;
  matcher: EntryMatcher;
}

interface AgentState {
  stats: AgentStats;
  busy: boolean;
  request: AgentRequestTarget;
}

const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export class AgentPoller {
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  #pool: Pool;
  #store: ResourceReportStore;
  #targets = new Map<string, ResolvedTarget>();
  #agents = new Map<string, AgentState>();
  #maxBodyBytes: number;
  #logger: Logger;
  #wallClock: () => number;
  #dispatcher: Dispatcher;
  #timer: NodeJS.Timeout | undefined;
  #rounds = new Set<Promise<void>>();

  constructor(options: AgentPollerOptions) {
    this.#pool = options.pool;
    this.#store = options.store;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 500;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#logger = options.logger ?? silentLogger;
    this.#wallClock = options.wallClock ?? Date.now;
    this.#dispatcher = new Dispatcher({ keepAliveTimeout: 10_000, connect: { timeout: this.timeoutMs } });
    const targets = options.targets ?? {};
    const entries = targets instanceof Map ? [...targets.entries()] : Object.entries(targets);
    for (const [id, target] of entries) this.setTarget(id, target);
  }

  /** Sets (or with undefined, removes) the agent of backend `id`, e.g. for a backend added at runtime. */
  setTarget(id: string, target: AgentTarget | undefined): void {
    if (target === undefined) {
      this.#targets.delete(id);
      return;
    }
    const endpoint = agentEndpoint(target.url);
    if (endpoint === undefined) throw new Error(`invalid agent URL "${target.url}"`);
    this.#targets.set(id, { endpoint, matcher: compileMatch(target.match) });
  }

  /** Polls now and then every interval until `stop`. */
  start(): this {
    if (this.#timer) return this;
    this.#track(this.pollOnce());
    this.#timer = setInterval(() => this.#track(this.pollOnce()), this.pollIntervalMs);
    this.#timer.unref();
    return this;
  }

  /** Stops polling; waits for queries in flight (bounded by the timeout) and closes connections. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([...this.#rounds]);
    await this.#dispatcher.close().catch(() => undefined);
  }

  /** One round: every agent of the pool's current backends, concurrently. Never rejects. */
  async pollOnce(): Promise<void> {
    const groups = new Map<string, Backend[]>();
    for (const backend of this.#pool.backends) {
      const target = this.#targets.get(backend.id);
      if (!target) continue;
      const group = groups.get(target.endpoint);
      if (group) group.push(backend);
      else groups.set(target.endpoint, [backend]);
    }
    await Promise.all([...groups].map(([endpoint, backends]) => this.#poll(endpoint, backends)));
  }

  stats(): AgentPollerStats {
    const agents: AgentStats[] = [];
    const used = new Set([...this.#targets.values()].map((target) => target.endpoint));
    for (const [endpoint, state] of this.#agents) {
      if (!used.has(endpoint)) continue;
      agents.push({
        ...state.stats,
        backends: this.#backendsOf(endpoint),
        unmatched: [...state.stats.unmatched],
      });
    }
    return {
      pollIntervalMs: this.pollIntervalMs,
      timeoutMs: this.timeoutMs,
      agents,
      cache: this.#store.stats(),
    };
  }

  async #poll(endpoint: string, backends: Backend[]): Promise<void> {
    const state = this.#state(endpoint);
    if (state.busy) {
      state.stats.skipped++;
      return;
    }
    state.busy = true;
    state.stats.polls++;
    const started = performance.now();
    try {
      const body = await this.#fetch(state.request);
      const report = parseAgentReport(body);
      const receivedAt = this.#store.now();
      const unmatched: string[] = [];
      for (const backend of backends) {
        const target = this.#targets.get(backend.id);
        const matched: AgentEntry[] = [];
        if (target) for (const entry of report.entries) if (target.matcher(entry)) matched.push(entry);
        const sample = combine(matched);
        if (sample) this.#store.write(backend.id, sample, receivedAt - sample.ageMs);
        else unmatched.push(backend.id);
      }
      this.#succeeded(state, report.node, report.entries.length, report.rejected, unmatched);
    } catch (error) {
      this.#failed(state, describeError(error, this.timeoutMs));
    } finally {
      state.stats.lastDurationMs = Math.round((performance.now() - started) * 1000) / 1000;
      state.busy = false;
    }
  }

  /** GET with a deadline on the whole exchange and a cap on the body; resolves with the parsed JSON. */
  async #fetch(target: AgentRequestTarget): Promise<unknown> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeoutError()), this.timeoutMs);
    const headers: Record<string, string> = { accept: "application/json" };
    if (target.authorization) headers.authorization = target.authorization;
    try {
      const response = await request(target.url, {
        dispatcher: this.#dispatcher,
        signal: controller.signal,
        headers,
      });
      if (response.statusCode !== 200) {
        await response.body.dump().catch(() => undefined);
        throw new Error(`answered HTTP ${response.statusCode}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > this.#maxBodyBytes) {
          response.body.destroy();
          throw new Error(`report larger than ${this.#maxBodyBytes} bytes`);
        }
        chunks.push(chunk as Buffer);
      }
      try {
        return JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        throw new Error("answered a body that is not JSON");
      }
    } catch (error) {
      if (controller.signal.aborted) throw new TimeoutError();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  #succeeded(
    state: AgentState,
    node: string | undefined,
    entries: number,
    rejected: number,
    unmatched: string[],
  ): void {
    const stats = state.stats;
    if (stats.consecutiveErrors > 0) {
      this.#logger.info({ agent: stats.url, failures: stats.consecutiveErrors }, "agent answering again");
    }
    stats.successes++;
    stats.consecutiveErrors = 0;
    stats.lastSuccessAt = this.#wallClock();
    stats.node = node;
    stats.entries = entries;
    stats.rejectedEntries = rejected;
    stats.unmatched = unmatched;
  }

  #failed(state: AgentState, reason: string): void {
    const stats = state.stats;
    stats.errors++;
    stats.consecutiveErrors++;
    stats.lastErrorAt = this.#wallClock();
    stats.lastError = reason;
    if (stats.consecutiveErrors === 1) {
      this.#logger.warn({ agent: stats.url, reason }, "agent query failed; its metrics will go stale");
    } else {
      this.#logger.debug(
        { agent: stats.url, reason, failures: stats.consecutiveErrors },
        "agent query failed",
      );
    }
  }

  #state(endpoint: string): AgentState {
    let state = this.#agents.get(endpoint);
    if (!state) {
      const request = splitAgentCredentials(endpoint);
      state = {
        busy: false,
        request,
        stats: {
          url: request.url,
          node: undefined,
          backends: [],
          polls: 0,
          successes: 0,
          errors: 0,
          consecutiveErrors: 0,
          skipped: 0,
          lastSuccessAt: null,
          lastErrorAt: null,
          lastError: null,
          lastDurationMs: null,
          entries: 0,
          rejectedEntries: 0,
          unmatched: [],
        },
      };
      this.#agents.set(endpoint, state);
    }
    return state;
  }

  #backendsOf(endpoint: string): string[] {
    return this.#pool.backends
      .filter((backend) => this.#targets.get(backend.id)?.endpoint === endpoint)
      .map((backend) => backend.id);
  }

  #track(round: Promise<void>): void {
    this.#rounds.add(round);
    void round.finally(() => this.#rounds.delete(round));
  }
}

class TimeoutError extends Error {
  constructor() {
    super("timed out");
    this.name = "TimeoutError";
  }
}

function describeError(error: unknown, timeoutMs: number): string {
  if (error instanceof TimeoutError) return `timed out after ${timeoutMs} ms`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "ECONNREFUSED") return "connection refused";
  if (error instanceof Error && error.name === "AgentReportError") return `not an agent report: ${message}`;
  return code && !message.includes(code) ? `${message} (${code})` : message;
}
