/**
 * Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam,
 * "Consistent Hashing with Bounded Loads", SODA 2018; HAProxy's
 * `hash-balance-factor`): a key goes to the nearest backend clockwise on the
 * multi-probe ring (see consistent-hash.ts) whose in-flight load is under the bound
 * `ceil((1 + ε) × (in flight + 1) × weight / total weight)`, where the +1
 * counts the request being placed; with equal weights that is
 * `ceil((1 + ε) × average)`. No backend ever holds more than the bound after
 * a placement, and a key whose backend is not full keeps its backend, so a
 * hot key spills to the next nearest backends instead of overloading one server.
 * ε default 0.25.
 *
 * Load comes from the balancer's `loadChanged` calls: the selector keeps the
 * in-flight total of ready positive-weight backends up to date in O(1), so a
 * pick is a ring lookup plus a check. If every backend the caller accepts is
 * at its bound (possible once some are tried), the bound is dropped for that
 * pick rather than refusing the request.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, Selector } from "../core/selector.js";
import { signedHashFunctions } from "../hashing/hash-functions.js";
import { KeyHasher } from "../hashing/hash-key.js";
import { HashRing } from "../hashing/ring.js";
import {
  type ConsistentHashSettings,
  describeOrigin,
  hashFunctionOption,
  hashKeyOption,
  probesOption,
  virtualNodesOption,
} from "./consistent-hash.js";
import type { AlgorithmDefinition } from "./definition.js";

export const DEFAULT_EPSILON = 0.25;

export const boundedLoadOptions = z.strictObject({
  hashKey: hashKeyOption,
  hashFunction: hashFunctionOption,
  virtualNodes: virtualNodesOption,
  probes: probesOption,
  epsilon: z
    .number()
    .positive()
    .max(100)
    .default(DEFAULT_EPSILON)
    .describe("load bound slack: no backend exceeds ceil((1 + epsilon) x average in flight)"),
});

export interface BoundedLoadSettings extends ConsistentHashSettings {
  epsilon: number;
}

/**
 * The most a backend of `weight` may hold once the next request is placed.
 * The 1e-9 keeps float error (1.1 × 30 / 3 = 11.000000000000002) from
 * rounding the bound up past its exact value.
 */
export function loadBound(
  totalInFlight: number,
  weight: number,
  totalWeight: number,
  epsilon: number,
): number {
  return Math.ceil(((1 + epsilon) * (totalInFlight + 1) * weight) / totalWeight - 1e-9);
}

export class BoundedLoadSelector implements Selector {
  readonly name = "bounded-load-consistent-hash";
  readonly #ring: HashRing<Backend>;
  readonly #hasher: KeyHasher;
  readonly #settings: BoundedLoadSettings;
  #index = new Map<Backend, number>();
  /** In flight per backend as last reported, and whether it counts toward the average. */
  #known = new Float64Array(0);
  #counted = new Uint8Array(0);
  #totalInFlight = 0;
  #totalWeight = 0;
  /** Made once, so the ring walk allocates nothing. */
  readonly #underBound = (backend: Backend, accept: Accept): boolean =>
    accept(backend) && backend.inFlight < this.bound(backend);

  constructor(settings: BoundedLoadSettings) {
    this.#settings = settings;
    const hash = signedHashFunctions[settings.hashFunction];
    this.#ring = new HashRing({ hash, virtualNodes: settings.virtualNodes, probes: settings.probes });
    this.#hasher = new KeyHasher(settings.hashKey, hash);
  }

  rebuild(backends: readonly Backend[]): void {
    this.#ring.sync(backends);
    this.#index = new Map(backends.map((backend, i) => [backend, i]));
    this.#known = new Float64Array(backends.length);
    this.#counted = new Uint8Array(backends.length);
    this.#totalInFlight = 0;
    this.#totalWeight = 0;
    backends.forEach((backend, i) => {
      this.#known[i] = backend.inFlight;
      if (backend.ready && backend.weight > 0) {
        this.#counted[i] = 1;
        this.#totalInFlight += backend.inFlight;
        this.#totalWeight += backend.weight;
      }
    });
  }

  pick(ctx: RequestContext, accept: Accept): Backend | undefined {
    const ring = this.#ring;
    if (ring.size === 0) return undefined;
    const position = this.#hasher.point(ctx);
    return ring.find(position, this.#underBound, accept) ?? ring.find(position, accept, undefined);
  }

  loadChanged(backend: Backend): void {
    const i = this.#index.get(backend);
    if (i === undefined) return;
    const delta = backend.inFlight - (this.#known[i] as number);
    this.#known[i] = backend.inFlight;
    if (this.#counted[i] === 1) this.#totalInFlight += delta;
  }

  /** The in-flight count `backend` may reach with the next placement. */
  bound(backend: Backend): number {
    if (this.#totalWeight <= 0) return 0;
    return loadBound(
      Math.max(0, this.#totalInFlight),
      backend.weight,
      this.#totalWeight,
      this.#settings.epsilon,
    );
  }

  /** Share of its bound a backend uses (≥ 1 means full). */
  score(backend: Backend): number {
    const bound = this.bound(backend);
    return bound > 0 ? backend.inFlight / bound : Number.POSITIVE_INFINITY;
  }

  describe(backend: Backend): string {
    return (
      `${describeOrigin(this.#hasher, this.#settings.hashKey)} (${this.#settings.hashFunction}), ` +
      `nearest ready backend clockwise under the load bound (${backend.inFlight} in flight, ` +
      `bound for the next request ${this.bound(backend)} at epsilon ${this.#settings.epsilon})`
    );
  }
}

export const boundedLoadConsistentHash: AlgorithmDefinition<z.output<typeof boundedLoadOptions>> = {
  name: "bounded-load-consistent-hash",
  aliases: ["chbl"],
  summary: "Consistent hash ring, skipping backends above ceil((1+epsilon) x average in flight).",
  reference: "Mirrokni, Thorup, Zadimoghaddam, SODA 2018; HAProxy hash-balance-factor",
  options: boundedLoadOptions,
  create: (options) => new BoundedLoadSelector(options),
};
