/**
 * Prequal's probe pool: the latest probe replies (requests in flight and
 * estimated latency per backend), at most `poolSize` of them, each usable for
 * `maxAgeMs` and `maxReuse` picks, and the hot-cold rule that picks from
 * them. A probe is hot when its RIF is above the `rifQuantile` of the RIFs
 * in the pool; among the cold ones the lowest latency wins, and when every
 * candidate is hot the lowest RIF does. A probe that wins counts the request
 * it was given (RIF + 1), as the backend will, so reusing it does not herd.
 * Wydrowski et al., "Load is not what you should balance: Introducing
 * Prequal" (NSDI 2024), section 3.
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
  rif: number;
  readonly latencyMs: number;
  /** When the reply arrived, ms. */
  readonly at: number;
  uses: number;
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
    probes.push({ backend, rif: reply.rif, latencyMs: reply.latencyMs, at: this.#now(), uses: 0 });
  }

  /** Keeps only the probes of backends `keep` accepts (the pool follows membership and readiness). */
  retain(keep: (backend: Backend) => boolean): void {
    this.#probes = this.#probes.filter((probe) => keep(probe.backend));
  }

  /**
   * The hot-cold choice among the probes of accepted backends and `local`
   * (this balancer's own view of backends without a probe, judged alongside
   * but not kept), counted as used; undefined when there is none.
   */
  pick(accept: Accept, local: readonly Probe[] = []): Probe | undefined {
    this.#expire();
    const probes = this.#probes;
    const threshold = this.#rifThreshold(local);
    let cold: Probe | undefined;
    let hot: Probe | undefined;
    const consider = (probe: Probe) => {
      if (!accept(probe.backend)) return;
      if (probe.rif <= threshold) {
        if (
          !cold ||
          probe.latencyMs < cold.latencyMs ||
          (probe.latencyMs === cold.latencyMs && probe.rif < cold.rif)
        )
          cold = probe;
      } else if (!hot || probe.rif < hot.rif || (probe.rif === hot.rif && probe.latencyMs < hot.latencyMs)) {
        hot = probe;
      }
    };
    for (const probe of probes) consider(probe);
    for (const probe of local) consider(probe);
    const chosen: Probe | undefined = cold ?? hot;
    if (!chosen) return undefined;
    this.#lastRule = cold ? "cold" : "hot";
    chosen.rif++;
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
    for (let i = 0; i < probes.length; i++) rifs[i] = (probes[i] as Probe).rif;
    for (let i = 0; i < local.length; i++) rifs[probes.length + i] = (local[i] as Probe).rif;
    rifs.sort();
    const position = this.options.rifQuantile * (count - 1);
    const below = Math.floor(position);
    const low = rifs[below] as number;
    const high = rifs[Math.min(below + 1, count - 1)] as number;
    return low + (high - low) * (position - below);
  }
}
