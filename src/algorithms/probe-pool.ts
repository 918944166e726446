/**
 * Prequal's probe pool: the latest probe replies (requests in flight and
 * estimated latency per backend), at most `poolSize` of them, each usable for
 * `maxAgeMs` and `maxReuse` picks, and the hot-cold rule that picks from
 * them. A probe is hot when its RIF is above the `rifQuantile` of the RIFs
 * in the pool; among the cold ones the lowest latency wins, and when every
 * candidate is hot the lowest RIF does. Wydrowski et al., "Load is not what
 * you should balance: Introducing Prequal" (NSDI 2024), section 3.
 *
 * A probe's RIF is read as of now (`rifNow`): the reply's, plus the requests
 * this balancer has sent the backend since, less those of its own that have
 * come back. A probe is reused a bounded number of times (the paper's reuse
 * limit); counting only the requests placed through it (RIF + 1 per use)
 * would miss both those that finish meanwhile (the figure only grows, so
 * a backend that drained looks busier than it is) and those sent there some
 * other way. This balancer's own in-flight count sees both, at no cost. What
 * other clients did since is still unknown: hence the age and reuse limits,
 * kept. In the lab, where a probe is used up within a millisecond, it reads
 * about the same as counting uses; it matters where probes live longer.
 */
import type { Backend } from "../core/backend.js";
import type { ProbeReply } from "../core/probe.js";
import type { Accept } from "../core/selector.js";

export interface ProbePoolOptions {
  /** Probes kept at most; the oldest goes first. */
  poolSize: number;
  /** A probe older than this is dropped, ms. */
  maxAgeMs: number;
  /** Picks a probe may serve before it is dropped. */
  maxReuse: number;
  /** Quantile of the pool's RIFs above which a probe is hot, in (0, 1). */
  rifQuantile: number;
}

export interface Probe {
  readonly backend: Backend;
  /** Requests in flight the backend reported. */
  readonly rif: number;
  /** This balancer's requests in flight to the backend when the reply arrived. */
  readonly inFlightAt: number;
  readonly latencyMs: number;
  /** When the reply arrived, ms. */
  readonly at: number;
  uses: number;
}

/** The backend's requests in flight now by `probe`: the reply, moved by what this balancer sent and got back since. */
export function rifNow(probe: Probe): number {
  return Math.max(0, probe.rif + probe.backend.inFlight - probe.inFlightAt);
}

/** A probe of `backend` from `reply`, taken now. */
export function probeOf(backend: Backend, reply: ProbeReply, at: number): Probe {
  return { backend, rif: reply.rif, inFlightAt: backend.inFlight, latencyMs: reply.latencyMs, at, uses: 0 };
}

/** How the last pick was made, for explanations. */
export type PoolRule = "cold" | "hot";

export class ProbePool {
  readonly options: ProbePoolOptions;
  /** Oldest first. */
  #probes: Probe[] = [];
  #now: () => number;
  #rifs: Float64Array;
  #lastRule: PoolRule = "cold";
  #lastRif = 0;

  constructor(options: ProbePoolOptions, now: () => number) {
    this.options = options;
    this.#now = now;
    this.#rifs = new Float64Array(options.poolSize);
  }

  get size(): number {
    return this.#probes.length;
  }

  get lastRule(): PoolRule {
    return this.#lastRule;
  }

  /** The RIF the last pick saw on the backend it chose, before its request. */
  get lastRif(): number {
    return this.#lastRif;
  }

  /** The live probes, oldest first. */
  probes(): readonly Probe[] {
    this.#expire();
    return this.#probes;
  }

  /** Adds a reply; it replaces an older probe of the same backend, else the oldest when full. */
  add(backend: Backend, reply: ProbeReply): void {
    const probes = this.#probes;
    const same = probes.findIndex((probe) => probe.backend === backend);
    if (same >= 0) probes.splice(same, 1);
    else if (probes.length >= this.options.poolSize) probes.shift();
    probes.push(probeOf(backend, reply, this.#now()));
  }

  /** Keeps only the probes of backends `keep` accepts (the pool follows membership and readiness). */
  retain(keep: (backend: Backend) => boolean): void {
    this.#probes = this.#probes.filter((probe) => keep(probe.backend));
  }

  /**
   * The hot-cold choice among the probes of accepted backends and `local`
   * (this balancer's own view of backends without a probe, judged alongside
   * but not kept), counted as used; undefined when there is none. The
   * request it places is counted by the balancer's in-flight count, which
   * `rifNow` reads.
   */
  pick(accept: Accept, local: readonly Probe[] = []): Probe | undefined {
    this.#expire();
    const probes = this.#probes;
    const threshold = this.#rifThreshold(local);
    let cold: Probe | undefined;
    let coldRif = 0;
    let hot: Probe | undefined;
    let hotRif = 0;
    const consider = (probe: Probe) => {
      if (!accept(probe.backend)) return;
      const rif = rifNow(probe);
      // No latency estimate (a new backend, or one idle since it was slow): one request at a time until it has one.
      if (rif <= threshold && (probe.latencyMs > 0 || rif === 0)) {
        if (
          !cold ||
          probe.latencyMs < cold.latencyMs ||
          (probe.latencyMs === cold.latencyMs && rif < coldRif)
        ) {
          cold = probe;
          coldRif = rif;
        }
      } else if (!hot || rif < hotRif || (rif === hotRif && probe.latencyMs < hot.latencyMs)) {
        hot = probe;
        hotRif = rif;
      }
    };
    for (const probe of probes) consider(probe);
    for (const probe of local) consider(probe);
    const chosen: Probe | undefined = cold ?? hot;
    if (!chosen) return undefined;
    this.#lastRule = cold ? "cold" : "hot";
    this.#lastRif = cold ? coldRif : hotRif;
    const index = probes.indexOf(chosen);
    if (++chosen.uses >= this.options.maxReuse && index >= 0) probes.splice(index, 1);
    return chosen;
  }

  #expire(): void {
    const oldest = this.#now() - this.options.maxAgeMs;
    const probes = this.#probes;
    let stale = 0;
    while (stale < probes.length && (probes[stale] as Probe).at < oldest) stale++;
    if (stale > 0) probes.splice(0, stale);
  }

  /** The `rifQuantile` of the RIFs of the pool and `local`, interpolated between ranks. */
  #rifThreshold(local: readonly Probe[]): number {
    const probes = this.#probes;
    const count = probes.length + local.length;
    if (count === 0) return 0;
    if (this.#rifs.length < count) this.#rifs = new Float64Array(count);
    const rifs = this.#rifs.subarray(0, count);
    for (let i = 0; i < probes.length; i++) rifs[i] = rifNow(probes[i] as Probe);
    for (let i = 0; i < local.length; i++) rifs[probes.length + i] = rifNow(local[i] as Probe);
    rifs.sort();
    const position = this.options.rifQuantile * (count - 1);
    const below = Math.floor(position);
    const low = rifs[below] as number;
    const high = rifs[Math.min(below + 1, count - 1)] as number;
    return low + (high - low) * (position - below);
  }
}
