/**
 * Prequal (Probing to Reduce Queuing and Latency): balance on what the
 * backends report, not on load shares. With every request the balancer sends
 * `probesPerRequest` probes (fractions: one every few requests) to random
 * ready backends, off the request path; each reply (requests in flight and
 * estimated latency) joins a small pool with an age limit and a reuse limit
 * (probe-pool.ts), and a request goes by the hot-cold rule over that pool,
 * each probe's RIF moved by the requests this balancer sent and got back
 * since it was taken. A backend with no latency to report (new, or idle
 * long enough to forget it was slow) gets one request at a time until it
 * has one, so a backend coming back is tried, not flooded.
 * No more probes go to a backend at a time than the transport carries at
 * once, so probes never queue behind probes, and each backend is probed as
 * soon as it turns up ready. Backends without a probe in the pool compete
 * too, judged by what this balancer sees of them (all of them up to
 * `poolSize` ready backends, two at random beyond), so a pool whose good
 * probes were used up does not hand every request to the one probe nobody
 * wanted. A backend that cannot answer probes is answered for that way: for
 * `fallbackMs` when it has no probe endpoint, for a backoff that doubles with
 * each miss in a row when it did not answer in time. With no probe transport
 * at all every probe is answered that way. Nothing eligible among those (a
 * large pool whose random draws missed): two random choices by
 * in-flight. With `hedge`, slow idempotent requests are also hedged on the
 * next candidate, as ALPHA1 does (hedge-policy.ts): not part of the paper,
 * but the only cure for a tail that comes from service times themselves,
 * which no choice of backend shortens. Wydrowski, Kleinberg, Rumble, Archer, "Load is not what you
 * should balance: Introducing Prequal" (NSDI 2024).
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { LatencyByRif } from "../core/latency-by-rif.js";
import { isCancelled, type Outcome } from "../core/outcome.js";
import {
  DEFAULT_PROBE_PATH,
  type ProbeMiss,
  type ProbeReply,
  type ProbeRequest,
  type ProbeTransport,
} from "../core/probe.js";
import { type Accept, NO_BACKENDS_TRIED, type Selector } from "../core/selector.js";
import type { AlgorithmDefinition, AlgorithmEnv } from "./definition.js";
import { HedgePolicy, hedgeOptions } from "./hedge-policy.js";
import { PowerOfTwoChoicesSelector } from "./power-of-two-choices.js";
import { type Probe, ProbePool, probeOf, rifNow } from "./probe-pool.js";

/** Backends without a probe judged by local view at each pick in a large pool (two: the power of two choices). */
const LOCAL_CHOICES = 2;

export const prequalOptions = z.strictObject({
  probesPerRequest: z
    .number()
    .gt(0)
    .max(16)
    .default(2)
    .describe("probes sent with each request to random backends (0.5 = one every other request)"),
  poolSize: z.number().int().min(1).max(256).default(16).describe("probe replies kept at most"),
  maxAgeMs: z.number().positive().default(1_000).describe("a probe older than this is not used, ms"),
  maxReuse: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(3)
    .describe("requests one probe may place before it is dropped"),
  rifQuantile: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.84)
    .describe("a probe above this quantile of the pool's requests in flight is hot"),
  probePath: z
    .string()
    .startsWith("/")
    .default(DEFAULT_PROBE_PATH)
    .describe("path the backends answer probes on"),
  probeTimeoutMs: z
    .number()
    .positive()
    .default(100)
    .describe("a probe not answered in this long is a miss, ms"),
  hedge: hedgeOptions
    .optional()
    .describe("hedge slow idempotent requests as alpha1 does (no hedging when absent)"),
  fallbackMs: z
    .number()
    .nonnegative()
    .default(10_000)
    .describe(
      "a backend without a probe endpoint is answered for from local observation this long, ms (also the cap on the backoff after unanswered probes)",
    ),
});

export type PrequalOptions = z.output<typeof prequalOptions>;

export class PrequalSelector implements Selector {
  readonly name = "prequal";
  readonly pool: ProbePool;
  /** Present with the `hedge` option. */
  readonly hedging: HedgePolicy | undefined;
  #options: PrequalOptions;
  #transport: ProbeTransport | undefined;
  #request: ProbeRequest;
  #random: () => number;
  #now: () => number;
  #ready: Backend[] = [];
  #readySet = new Set<Backend>();
  /** Backends probed once already (the first probe goes when a backend first turns up ready). */
  #seen = new WeakSet<Backend>();
  /** Probes on the wire per backend, kept within the transport's `maxInFlight`. */
  #probing = new WeakMap<Backend, number>();
  /** Until when a backend's probes are answered locally, and its misses in a row, after a miss. */
  #missedBy = new WeakMap<Backend, { until: number; inARow: number }>();
  /** Latencies this balancer saw per backend, filed as a backend files them, for answering probes locally. */
  #seenLatency = new WeakMap<Backend, LatencyByRif>();
  /** Probes owed: `probesPerRequest` per request, sent in whole numbers. */
  #credit = 0;
  /** Probes sent through the transport, and those that got no reply. */
  #sent = 0;
  #missed = 0;
  #fallback: PowerOfTwoChoicesSelector;
  /** The probe behind the last pick (undefined: the fallback chose), and whether it was a local view, for `describe`. */
  #last: Probe | undefined;
  #lastLocal = false;

  constructor(options: PrequalOptions, env: AlgorithmEnv) {
    this.#options = options;
    this.#transport = env.probes;
    this.#request = { path: options.probePath, timeoutMs: options.probeTimeoutMs };
    this.#random = env.random;
    this.#now = env.now;
    this.pool = new ProbePool(options, env.now);
    this.hedging = options.hedge && new HedgePolicy(options.hedge);
    this.#fallback = new PowerOfTwoChoicesSelector(env, undefined, this.name);
  }

  rebuild(backends: readonly Backend[]): void {
    this.#ready = backends.filter((backend) => backend.ready);
    this.#readySet = new Set(this.#ready);
    this.pool.retain((backend) => this.#readySet.has(backend));
    this.#fallback.rebuild(backends);
    // A backend seen for the first time is probed at once: the pool starts with real replies, and
    // the transport's connections are open before the first requests need probes.
    for (const backend of this.#ready) {
      if (this.#seen.has(backend)) continue;
      this.#seen.add(backend);
      this.#probe(backend);
    }
  }

  pick(ctx: RequestContext, accept: Accept, tried = NO_BACKENDS_TRIED): Backend | undefined {
    if (tried.length === 0) {
      this.hedging?.countRequest();
      this.#sendProbes();
    }
    const local = this.#localView(accept);
    const probe = this.pool.pick(accept, local);
    this.#last = probe;
    this.#lastLocal = probe !== undefined && local.includes(probe);
    return probe?.backend ?? this.#fallback.pick(ctx, accept);
  }

  observe(backend: Backend, outcome: Outcome): void {
    if (isCancelled(outcome)) return;
    this.hedging?.observe(outcome);
    if (outcome.latencyMs === undefined || outcome.error !== undefined) return;
    let latency = this.#seenLatency.get(backend);
    if (!latency) {
      latency = new LatencyByRif();
      this.#seenLatency.set(backend, latency);
    }
    // Filed under the requests still in flight there: the nearest this balancer knows to the RIF it arrived at.
    latency.observe(backend.inFlight, outcome.latencyMs, this.#now());
  }

  /** Requests in flight by the backend's probe in the pool, else as observed here. */
  score(backend: Backend): number {
    const probe = this.pool.probes().find((probe) => probe.backend === backend);
    return probe ? rifNow(probe) : backend.inFlight;
  }

  describe(backend: Backend): string {
    const probe = this.#last;
    if (probe?.backend !== backend)
      return `no usable probe: less loaded of two random choices (in flight ${backend.inFlight})`;
    const figures = `${this.#lastLocal ? "no probe in the pool, as seen here: " : ""}RIF ${this.pool.lastRif} before this request, latency ${Math.round(probe.latencyMs * 1000) / 1000} ms`;
    return this.pool.lastRule === "cold"
      ? `lowest latency among cold probes (${figures})`
      : `every probe hot: lowest requests in flight (${figures})`;
  }

  /** Probes in the pool, sent over the transport, and missed (answered locally instead). */
  figures(): { pool: number; probesSent: number; probesMissed: number } {
    return { pool: this.pool.size, probesSent: this.#sent, probesMissed: this.#missed };
  }

  /**
   * Accepted backends without a probe in the pool, as this balancer sees
   * them: all of them while the pool could hold one probe each (`poolSize`
   * or fewer ready), else `LOCAL_CHOICES` random ones. They compete with the
   * probes, so a pool whose good probes were used up does not send every
   * request to the one probe nobody wanted (the slow backend's, typically),
   * and the hot threshold is taken over the whole pool of backends, not two.
   */
  #localView(accept: Accept): Probe[] {
    const ready = this.#ready;
    const probes = this.pool.probes();
    const local: Probe[] = [];
    const add = (backend: Backend) => {
      if (
        !accept(backend) ||
        probes.some((probe) => probe.backend === backend) ||
        local.some((view) => view.backend === backend)
      )
        return;
      local.push(probeOf(backend, this.#observed(backend), this.#now()));
    };
    if (ready.length <= this.#options.poolSize) {
      for (const backend of ready) add(backend);
      return local;
    }
    for (let draw = 0; draw < 2 * LOCAL_CHOICES && local.length < LOCAL_CHOICES; draw++)
      add(ready[Math.floor(this.#random() * ready.length)] as Backend);
    return local;
  }

  /** Sends the probes this request owes to distinct random ready backends. */
  #sendProbes(): void {
    const ready = this.#ready;
    this.#credit += this.#options.probesPerRequest;
    const count = Math.min(Math.floor(this.#credit), ready.length);
    this.#credit -= Math.floor(this.#credit);
    // Partial Fisher-Yates over the ready list: `count` distinct backends, no allocation.
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(this.#random() * (ready.length - i));
      const backend = ready[j] as Backend;
      ready[j] = ready[i] as Backend;
      ready[i] = backend;
      this.#probe(backend);
    }
  }

  #probe(backend: Backend): void {
    const transport = this.#transport;
    if (!transport || this.#now() < (this.#missedBy.get(backend)?.until ?? Number.NEGATIVE_INFINITY)) {
      this.pool.add(backend, this.#observed(backend));
      return;
    }
    const onTheWire = this.#probing.get(backend) ?? 0;
    if (onTheWire >= (transport.maxInFlight ?? Number.POSITIVE_INFINITY)) return;
    this.#probing.set(backend, onTheWire + 1);
    this.#sent++;
    transport.probe(backend, this.#request, (reply) => {
      this.#probing.set(backend, (this.#probing.get(backend) ?? 1) - 1);
      if (typeof reply === "string") this.#missed++;
      this.#noteMiss(backend, reply);
      if (!this.#readySet.has(backend)) return;
      this.pool.add(backend, typeof reply === "string" ? this.#observed(backend) : reply);
    });
  }

  /**
   * What this balancer sees of `backend`, in a probe reply's terms: its own
   * requests in flight there, and the latency estimate a backend keeps
   * (latency-by-rif.ts) over the responses it got back. Like the backend's,
   * it forgets once the backend is left idle: a running average would keep a
   * backend that was slow once looking slow, and with no request sent there
   * it would never learn otherwise.
   */
  #observed(backend: Backend): ProbeReply {
    const now = this.#now();
    return {
      rif: backend.inFlight,
      latencyMs: this.#seenLatency.get(backend)?.estimate(backend.inFlight, now) ?? 0,
    };
  }

  /**
   * A backend without a probe endpoint is answered for locally for
   * `fallbackMs`; one that did not answer in time, for a probe timeout
   * doubled with each miss in a row up to `fallbackMs` (a busy moment is no
   * reason to stop asking for long). A reply clears the count. Misses that
   * come in while a backoff runs were sent before it began: the same silence,
   * not another in a row. Counted apart, one stall of the proxy (a cold start,
   * a GC pause) that timed out the four probes on the wire took a backend to
   * 800 ms of local answers at once, and a second stall to `fallbackMs`:
   * live, some runs then measured at a few probes a second.
   */
  #noteMiss(backend: Backend, reply: ProbeReply | ProbeMiss): void {
    if (typeof reply !== "string") {
      this.#missedBy.delete(backend);
      return;
    }
    const missed = this.#missedBy.get(backend);
    if (reply === "unanswered" && missed !== undefined && this.#now() < missed.until) return;
    const inARow = (missed?.inARow ?? 0) + 1;
    const { fallbackMs, probeTimeoutMs } = this.#options;
    const backoffMs =
      reply === "unsupported"
        ? fallbackMs
        : Math.min(fallbackMs, probeTimeoutMs * 2 ** Math.min(inARow - 1, 30));
    this.#missedBy.set(backend, { until: this.#now() + backoffMs, inARow });
  }
}

export const prequal: AlgorithmDefinition<PrequalOptions> = {
  name: "prequal",
  summary:
    "Asynchronous probes of requests in flight and latency; the lowest-latency cold probe wins (hot: lowest RIF).",
  reference: "Wydrowski et al., NSDI 2024 (Prequal); YouTube's load balancer",
  options: prequalOptions,
  create: (options, env) => new PrequalSelector(options, env),
};
