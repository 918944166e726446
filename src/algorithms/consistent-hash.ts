/**
 * Consistent hashing on a ring of virtual nodes (Karger et al., STOC 1997;
 * ketama's layout; DWCP, Datapunk and the consistent-hashing HTTP balancer): a request's key (client IP by
 * default, or a header, cookie, path, query parameter or function) goes to the
 * backend whose point is nearest clockwise after the key's position, so the
 * same key reaches the same backend, and adding or removing a backend moves
 * only the keys it gains or loses (about 1/N of them). Weighted: 150 points
 * per unit of weight by default. Multi-probe (Appleton & O'Reilly, 2015): the
 * key probes 3 positions by default and takes the nearest point after any of
 * them, which evens the shares (coefficient of variation ~3.5% at 150 points
 * instead of ~8.5% with one probe); `probes: 1` is the classic ring.
 * Failover takes the next nearest ready backend, which is where the key
 * would go if its backend left the ring.
 *
 * The ring holds every positive-weight backend, ready or not, so a health flap
 * does not touch it; membership and weight changes merge into it
 * incrementally (see `hashing/ring.ts`). Default hash: xxHash32, the one of
 * the five with the best key dispersion on its own (it passes SMHasher; djb2
 * collides on two-letter swaps like "Ez"/"FY", crc32 is linear), within a few
 * nanoseconds of fnv1a on IP-sized keys (~20 ns), and Envoy's ring-hash
 * default. crc32, fnv1a, djb2 and md5 are there to match other
 * systems (DWCP and the consistent-hashing HTTP balancer); md5 costs about a microsecond a key.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, Selector } from "../core/selector.js";
import {
  type HashFunctionName,
  hashFunctionNameSchema,
  signedHashFunctions,
} from "../hashing/hash-functions.js";
import { describeHashKey, type HashKeyOption, hashKeyOptionSchema, KeyHasher } from "../hashing/hash-key.js";
import { DEFAULT_PROBES, DEFAULT_VIRTUAL_NODES, HashRing, MAX_PROBES } from "../hashing/ring.js";
import type { AlgorithmDefinition } from "./definition.js";

export const hashFunctionOption = hashFunctionNameSchema
  .default("xxhash")
  .describe("hash of the key and of ring points: xxhash, fnv1a, crc32, djb2 or md5");

export const virtualNodesOption = z
  .number()
  .int()
  .min(1)
  .max(10_000)
  .default(DEFAULT_VIRTUAL_NODES)
  .describe("ring points per unit of backend weight");

export const probesOption = z
  .number()
  .int()
  .min(1)
  .max(MAX_PROBES)
  .default(DEFAULT_PROBES)
  .describe("positions probed per key, nearest point wins (1 = classic ring; more = more even spread)");

export const hashKeyOption = hashKeyOptionSchema
  .default({ source: "client-ip" })
  .describe(
    "where the key comes from: client-ip, path, or { source: client-ip | header | cookie | path | query, name? }",
  );

export const consistentHashOptions = z.strictObject({
  hashKey: hashKeyOption,
  hashFunction: hashFunctionOption,
  virtualNodes: virtualNodesOption,
  probes: probesOption,
});

export interface ConsistentHashSettings {
  hashKey: HashKeyOption;
  hashFunction: HashFunctionName;
  virtualNodes: number;
  /** Positions probed per key; default 3. */
  probes?: number;
}

/** Wording of a key's origin in explanations. */
export function describeOrigin(hasher: KeyHasher, key: HashKeyOption): string {
  switch (hasher.origin) {
    case "key":
      return `hash of ${describeHashKey(key)}`;
    case "client-ip":
      return `no ${describeHashKey(key)}, hash of client IP`;
    case "rotation":
      return "no key, rotating position";
  }
}

export class ConsistentHashSelector implements Selector {
  readonly name: string;
  readonly #ring: HashRing<Backend>;
  readonly #hasher: KeyHasher;
  readonly #settings: ConsistentHashSettings;

  constructor(settings: ConsistentHashSettings, name = "consistent-hash") {
    this.name = name;
    this.#settings = settings;
    const hash = signedHashFunctions[settings.hashFunction];
    this.#ring = new HashRing({ hash, virtualNodes: settings.virtualNodes, probes: settings.probes });
    this.#hasher = new KeyHasher(settings.hashKey, hash);
  }

  /** The ring, for inspection (points, memory). */
  get ring(): HashRing<Backend> {
    return this.#ring;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#ring.sync(backends);
  }

  pick(ctx: RequestContext, accept: Accept): Backend | undefined {
    if (this.#ring.size === 0) return undefined;
    return this.#ring.find(this.#hasher.point(ctx), accept, undefined);
  }

  describe(backend: Backend): string {
    const ring = this.#ring;
    return (
      `${describeOrigin(this.#hasher, this.#settings.hashKey)} (${this.#settings.hashFunction}), ` +
      `nearest ready backend clockwise on the ring from ${ring.probes} ${ring.probes === 1 ? "probe" : "probes"} ` +
      `(${ring.pointsOf(backend)} of ${ring.pointCount} points)`
    );
  }
}

export const consistentHash: AlgorithmDefinition<z.output<typeof consistentHashOptions>> = {
  name: "consistent-hash",
  aliases: ["ring", "ketama"],
  summary: "Key (client IP, header, cookie, path, query) → nearest backend clockwise on a weighted ring.",
  reference:
    "Karger et al., STOC 1997; libketama; Appleton & O'Reilly 2015 (multi-probe); DWCP, Datapunk and the consistent-hashing HTTP balancer",
  options: consistentHashOptions,
  create: (options) => new ConsistentHashSelector(options),
};
