/**
 * BETA1 (the ALPHA1/BETA1 balancer): cache-aware routing. Rendezvous hashing (highest random
 * weight; Thaler & Ravishankar, "Using name-based mappings to increase hit
 * rates", IEEE/ACM ToN 1998) gives each key a stable order of backends, so a
 * key keeps reaching the backend that has it cached, and removing a backend
 * moves only that backend's keys. Bounded loads (Mirrokni, Thorup,
 * Zadimoghaddam, "Consistent Hashing with Bounded Loads", SODA 2018) cap
 * every backend at `ceil((1 + ε) × (in flight + 1) × weight / total weight)`:
 * a key whose first backend is at its cap goes to its best backend under the
 * cap (a "bounded-load redirect"), and if every candidate is at its cap, to
 * the least loaded one.
 *
 * Two additions for caches. Warm-up: a backend that joins a running pool
 * starts at `warmupMinShare` of its weight in the HRW score and ramps
 * linearly to its full weight over `warmupMs`, so its (cold) cache takes
 * keys a few at a time; a rising weight only ever moves keys onto it.
 * Popularity: a count-min sketch over recent key hashes finds keys above
 * `hotKeyShare` of recent requests; such a key is spread over its top
 * `hotKeyReplicas` HRW backends (the less loaded of them, in turn when tied)
 * instead of pinning one cache server under a Zipf head.
 *
 * Cost: ranking a key is one pass over all backends, O(n) integer hashing
 * with a logarithm only for the few class leaders (see
 * `hashing/rendezvous-ranking.ts`). A key's first few backends are then
 * memoized (`hashing/ranking-cache.ts`, `trackedKeys` entries, retired on
 * rebuild and at each warm-up step), so a repeated key costs a table lookup
 * and checks of its first candidates' readiness and load; the pass runs again
 * only for new keys, or when tries, readiness or load exhaust the memoized
 * candidates. Nothing is allocated per pick.
 *
 * Figures (`figures()`): cache hit rate, counted when the chosen backend is
 * one of the last two distinct backends that served the key (a fixed-size
 * table of `trackedKeys`; two, so a hot key's replicas and a key back home
 * after one redirect count as warm), keys remembered, warm-up progress,
 * bounded-load redirects, hot keys and picks per backend.
 *
 * Over 400 lines because the key table, the warm-up and the bounded-load
 * redirect share the per-key slots that make picks allocation-free.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { durationMs } from "../core/duration.js";
import { unmapIpv4 } from "../core/ipv4-mapped.js";
import {
  type Accept,
  acceptReady,
  NO_BACKENDS_TRIED,
  type Selector,
  type SelectorEnv,
} from "../core/selector.js";
import { type HashFunction, signedHashFunctions } from "../hashing/hash-functions.js";
import { KeyHasher, keyExtractor } from "../hashing/hash-key.js";
import { LastServedTable } from "../hashing/last-served.js";
import { PopularityTracker, type PopularKey } from "../hashing/popularity.js";
import { RankingCache } from "../hashing/ranking-cache.js";
import { type RankingFilter, RendezvousRanking } from "../hashing/rendezvous-ranking.js";
import { inFlightPerWeight } from "../load/in-flight.js";
import { InFlightTotals } from "../load/in-flight-totals.js";
import { WarmupRamp, type WarmupTarget } from "../load/warm-up.js";
import { DEFAULT_EPSILON, loadBound } from "./bounded-load.js";
import { describeOrigin, hashFunctionOption, hashKeyOption } from "./consistent-hash.js";
import type { AlgorithmDefinition } from "./definition.js";

export const beta1Options = z.strictObject({
  hashKey: hashKeyOption,
  hashFunction: hashFunctionOption,
  epsilon: z
    .number()
    .positive()
    .max(100)
    .default(DEFAULT_EPSILON)
    .describe("load bound slack: no backend exceeds ceil((1 + epsilon) x average in flight)"),
  warmupMs: durationMs(0, 3_600_000)
    .default(30_000)
    .describe("ms over which a backend added to a running pool ramps to its full share of keys; 0 = off"),
  warmupMinShare: z
    .number()
    .positive()
    .max(1)
    .default(0.1)
    .describe("share of its weight a newly added backend starts warm-up with"),
  hotKeyShare: z
    .number()
    .min(0.001)
    .max(1)
    .default(0.01)
    .describe("share of recent requests above which a key is hot and spread over several backends"),
  hotKeyReplicas: z
    .number()
    .int()
    .min(1)
    .max(8)
    .default(2)
    .describe("backends a hot key is spread over: its top rendezvous candidates"),
  trackedKeys: z
    .number()
    .int()
    .min(16)
    .max(1_000_000)
    .default(10_000)
    .describe("keys remembered: their first rendezvous backends, and the backends that last served them"),
});

export type Beta1Settings = z.output<typeof beta1Options>;

export interface Beta1Figures {
  /** Share of keyed first attempts sent to one of the last two backends that served the key. */
  cacheHitRate: number;
  cacheLookups: number;
  /** Keys remembered in the last-served table (bounded by `trackedKeys`). */
  cachedKeys: number;
  /** Backends still ramping up, with progress 0 … 1. */
  warmingUp: { id: string; progress: number }[];
  boundedLoadRedirects: number;
  /** First attempts whose key was hot. */
  hotKeyRequests: number;
  /** The hottest keys (up to 10) above `hotKeyShare` of recent requests. */
  hotKeys: PopularKey[];
  /** Picks per backend id (current members). */
  distribution: Record<string, number>;
}

const Reason = { Home: 0, HotReplica: 1, Redirect: 2, LeastLoaded: 3 } as const;
type Reason = (typeof Reason)[keyof typeof Reason];
const NONE: readonly Backend[] = Object.freeze([]);
/** Members memoized per key: enough for the hot replicas and a redirect or two. */
const MEMO_DEPTH = 4;

export class Beta1Selector implements Selector {
  readonly name = "beta1";
  readonly #settings: Beta1Settings;
  readonly #env: SelectorEnv;
  readonly #hash: HashFunction;
  readonly #hasher: KeyHasher;
  readonly #ranking: RendezvousRanking;
  readonly #rankings: RankingCache;
  readonly #popularity: PopularityTracker<RequestContext>;
  readonly #served: LastServedTable;
  #backends: readonly Backend[] = NONE;
  /** Stable per-id integers for the last-served table; never reused. */
  #tokenById = new Map<string, number>();
  #tokens = new Int32Array(0);
  #nextToken = 1;
  #picks = new Float64Array(0);
  readonly #totals = new InFlightTotals();
  readonly #warmup: WarmupRamp;
  /** Warm-up lowers a member's HRW weight only; its load bound keeps the full weight. */
  readonly #warmupTarget: WarmupTarget = {
    setWeightShare: (i, share) => this.#ranking.setWeight(i, (this.#backends[i] as Backend).weight * share),
  };
  /** The pick's candidates: up to `hotKeyReplicas` eligible members in HRW order, and the best under its bound. */
  readonly #candidates: Int32Array;
  #candidateCount = 0;
  #preferred = -1;
  /** The current pick's `accept`, read by the ranking filters (made once, so a scan allocates nothing). */
  #accept: Accept = acceptReady;
  #spreadTurn = 0;
  #lookups = 0;
  #hits = 0;
  #redirects = 0;
  #hotRequests = 0;
  #lastBackend: Backend | undefined;
  #lastReason: Reason = Reason.Home;
  readonly #filter: RankingFilter = {
    eligible: (i) => this.#accept(this.#backends[i] as Backend),
    preferred: (i) => this.#underBound(i),
  };
  /**
   * Memoized rankings cover every member (readiness and load are checked when
   * they are used); the pass that computes one also finds the best eligible
   * member under its bound, which the memo alone may not reach.
   */
  readonly #memoFilter: RankingFilter = {
    eligible: () => true,
    preferred: (i) => this.#accept(this.#backends[i] as Backend) && this.#underBound(i),
  };

  constructor(settings: Beta1Settings, env: SelectorEnv) {
    this.#settings = settings;
    this.#env = env;
    this.#hash = signedHashFunctions[settings.hashFunction];
    this.#hasher = new KeyHasher(settings.hashKey, this.#hash);
    const depth = Math.max(MEMO_DEPTH, settings.hotKeyReplicas + 2);
    this.#ranking = new RendezvousRanking(depth);
    this.#rankings = new RankingCache(settings.trackedKeys, depth);
    this.#candidates = new Int32Array(settings.hotKeyReplicas);
    this.#served = new LastServedTable(settings.trackedKeys);
    this.#warmup = new WarmupRamp(settings.warmupMs, settings.warmupMinShare);
    const extract = keyExtractor(settings.hashKey);
    this.#popularity = new PopularityTracker<RequestContext>({
      hotShare: settings.hotKeyShare,
      label: (ctx) => (this.#hasher.origin === "key" ? extract(ctx) : unmapIpv4(ctx.clientIp)),
    });
  }

  rebuild(backends: readonly Backend[]): void {
    const now = this.#settings.warmupMs > 0 ? this.#env.now() : 0;
    const oldPicks = new Map(this.#backends.map((backend, i) => [backend.id, this.#picks[i] ?? 0]));
    const tokenById = new Map<string, number>();
    const size = backends.length;
    this.#tokens = new Int32Array(size);
    this.#picks = new Float64Array(size);
    backends.forEach((backend, i) => {
      const id = backend.id;
      const token = this.#tokenById.get(id) ?? this.#nextToken++;
      tokenById.set(id, token);
      this.#tokens[i] = token;
      this.#picks[i] = oldPicks.get(id) ?? 0;
    });
    this.#tokenById = tokenById;
    this.#backends = backends;
    this.#totals.rebuild(backends);
    const ids = backends.map((backend) => backend.id);
    this.#ranking.setMembers(
      ids,
      backends.map((backend) => backend.weight),
      this.#hash,
    );
    this.#rankings.invalidate();
    this.#warmup.sync(ids, now);
    if (this.#warmup.active > 0) this.#warmup.advance(now, this.#warmupTarget);
    if (this.#lastBackend && !this.#totals.has(this.#lastBackend)) this.#lastBackend = undefined;
  }

  pick(ctx: RequestContext, accept: Accept, tried = NO_BACKENDS_TRIED): Backend | undefined {
    const ranking = this.#ranking;
    if (ranking.size === 0) return undefined;
    const keyHash = this.#hasher.point(ctx);
    const keyed = this.#hasher.origin !== "rotation";
    const first = tried.length === 0;
    if (this.#warmup.active > 0 && this.#warmup.advance(this.#env.now(), this.#warmupTarget)) {
      this.#rankings.invalidate();
    }
    let hot = false;
    if (keyed) hot = first ? this.#popularity.record(keyHash, ctx) : this.#popularity.isHot(keyHash);
    const replicas = hot ? this.#settings.hotKeyReplicas : 1;
    if (!(keyed && this.#fromMemo(keyHash, accept, replicas))) this.#fromScan(keyHash, accept, replicas);
    const count = this.#candidateCount;
    if (count === 0) return undefined;

    const candidates = this.#candidates;
    let chosen = -1;
    let reason: Reason = Reason.Home;
    if (count > 1) {
      chosen = this.#lessLoadedReplica(count);
      reason = Reason.HotReplica;
    } else if (this.#preferred === candidates[0]) {
      chosen = this.#preferred;
    }
    if (chosen < 0 && this.#preferred >= 0) {
      chosen = this.#preferred;
      reason = Reason.Redirect;
    }
    if (chosen < 0) {
      chosen = this.#leastLoaded(accept);
      reason = Reason.LeastLoaded;
    }
    if (reason >= Reason.Redirect) this.#redirects++;

    const backend = this.#backends[chosen] as Backend;
    this.#picks[chosen] = (this.#picks[chosen] as number) + 1;
    if (keyed) {
      const hit = this.#served.serve(keyHash, this.#tokens[chosen] as number);
      if (first) {
        this.#lookups++;
        if (hit) this.#hits++;
        if (hot) this.#hotRequests++;
      }
    }
    this.#lastBackend = backend;
    this.#lastReason = reason;
    return backend;
  }

  loadChanged(backend: Backend): void {
    this.#totals.loadChanged(backend);
  }

  /** The in-flight count `backend` may reach with the next placement. */
  bound(backend: Backend): number {
    const totals = this.#totals;
    if (totals.weight <= 0) return 0;
    return loadBound(Math.max(0, totals.inFlight), backend.weight, totals.weight, this.#settings.epsilon);
  }

  /** Share of its bound a backend uses (≥ 1 means full). */
  score(backend: Backend): number {
    const bound = this.bound(backend);
    return bound > 0 ? backend.inFlight / bound : Number.POSITIVE_INFINITY;
  }

  /** Warm-up progress of a member, 0 … 1 (1 when it is not warming up). */
  warmupProgress(backend: Backend): number {
    if (this.#warmup.active === 0 || !this.#totals.has(backend)) return 1;
    return this.#warmup.progress(backend.id, this.#env.now());
  }

  figures(): Beta1Figures {
    const distribution: Record<string, number> = {};
    this.#backends.forEach((backend, i) => {
      distribution[backend.id] = this.#picks[i] ?? 0;
    });
    const warmingUp = this.#warmup.active > 0 ? this.#warmup.warming(this.#env.now()) : [];
    return {
      cacheHitRate: this.#lookups > 0 ? this.#hits / this.#lookups : 0,
      cacheLookups: this.#lookups,
      cachedKeys: this.#served.size,
      warmingUp,
      boundedLoadRedirects: this.#redirects,
      hotKeyRequests: this.#hotRequests,
      hotKeys: this.#popularity.top(10, true),
      distribution,
    };
  }

  describe(backend: Backend): string {
    const settings = this.#settings;
    const origin = `${describeOrigin(this.#hasher, settings.hashKey)} (${settings.hashFunction})`;
    const load = `${backend.inFlight} in flight, bound for the next request ${this.bound(backend)} at epsilon ${settings.epsilon}`;
    const progress = this.warmupProgress(backend);
    const warm = progress < 1 ? `; warming up, ${Math.round(progress * 100)}% of its weight ramp done` : "";
    if (backend !== this.#lastBackend) {
      return `${origin}, rendezvous hashing with bounded loads (${load})${warm}`;
    }
    switch (this.#lastReason) {
      case Reason.Home:
        return `${origin}, highest rendezvous score among ready backends, under its load bound (${load})${warm}`;
      case Reason.HotReplica:
        return `${origin}, hot key: less loaded of its top ${settings.hotKeyReplicas} rendezvous backends (${load})${warm}`;
      case Reason.Redirect:
        return `${origin}, bounded-load redirect: first choice at its bound, best rendezvous score under the bound (${load})${warm}`;
      default:
        return `${origin}, every candidate at its load bound: least loaded ready backend (${load})${warm}`;
    }
  }

  /**
   * Fills the candidates from the key's memoized ranking (computing it on a
   * miss); false when the memo's first members are not enough to decide (all
   * tried, unready or full, and more members beyond them).
   */
  #fromMemo(keyHash: number, accept: Accept, replicas: number): boolean {
    const memo = this.#rankings;
    let entry = memo.find(keyHash);
    let fresh = false;
    if (entry < 0) {
      this.#accept = accept;
      this.#ranking.scan(keyHash, memo.depth, this.#memoFilter, true);
      entry = memo.store(keyHash, this.#ranking);
      fresh = true;
    }
    const stored = memo.countOf(entry);
    const candidates = this.#candidates;
    let count = 0;
    let preferred = -1;
    for (let rank = 0; rank < stored && (count < replicas || preferred < 0); rank++) {
      const i = memo.memberOf(entry, rank);
      if (!accept(this.#backends[i] as Backend)) continue;
      if (count < replicas) candidates[count++] = i;
      if (preferred < 0 && this.#underBound(i)) preferred = i;
    }
    const complete = stored >= this.#ranking.size;
    if (count < replicas && !complete) return false;
    // A fresh pass knows the best eligible member under its bound, even past the memo.
    if (fresh) preferred = this.#ranking.preferred;
    else if (preferred < 0 && !complete) return false;
    this.#candidateCount = count;
    this.#preferred = preferred;
    return true;
  }

  /** Fills the candidates with a full rendezvous pass over the accepted members. */
  #fromScan(keyHash: number, accept: Accept, replicas: number): void {
    const ranking = this.#ranking;
    this.#accept = accept;
    const count = ranking.scan(keyHash, replicas, this.#filter, true);
    for (let rank = 0; rank < count; rank++) this.#candidates[rank] = ranking.at(rank);
    this.#candidateCount = count;
    this.#preferred = ranking.preferred;
  }

  #underBound(i: number): boolean {
    const backend = this.#backends[i] as Backend;
    return backend.inFlight < this.bound(backend);
  }

  /** Among the first `count` ranked members under their bound, the least loaded; ties take turns. */
  #lessLoadedReplica(count: number): number {
    const candidates = this.#candidates;
    const turn = this.#spreadTurn++ % count;
    let best = -1;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let step = 0; step < count; step++) {
      const i = candidates[(turn + step) % count] as number;
      if (!this.#underBound(i)) continue;
      const load = inFlightPerWeight(this.#backends[i] as Backend);
      if (best < 0 || load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    return best;
  }

  #leastLoaded(accept: Accept): number {
    const backends = this.#backends;
    let best = -1;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (let i = 0; i < backends.length; i++) {
      const backend = backends[i] as Backend;
      if (!accept(backend)) continue;
      const load = inFlightPerWeight(backend);
      if (best < 0 || load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    return best;
  }
}

export const beta1: AlgorithmDefinition<z.output<typeof beta1Options>> = {
  name: "beta1",
  aliases: ["hrw-bounded"],
  summary: "Cache-aware: rendezvous hashing with bounded loads, warm-up for added backends, hot keys spread.",
  reference: "Thaler & Ravishankar, IEEE/ACM ToN 1998; Mirrokni et al., SODA 2018; the ALPHA1/BETA1 balancer",
  options: beta1Options,
  create: (options, env) => new Beta1Selector(options, env),
};
