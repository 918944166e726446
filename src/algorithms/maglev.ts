/**
 * Maglev hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software
 * Network Load Balancer", NSDI 2016): a key's position indexes a prime-sized
 * lookup table (65537 entries by default) that every backend filled from its
 * own permutation, weighted by turns. Compared with the ring: a lookup is one
 * array read instead of a binary search, and shares are near exact (each
 * backend's entries differ from its weight's share by at most one entry),
 * at the price of a few keys moving between surviving backends when the pool
 * changes (the ring moves none).
 *
 * The table holds every positive-weight backend, ready or not, and is rebuilt
 * only when membership or weights change, so a health flap moves nothing. The
 * keys of a backend the caller does not accept (unready, tried) go to
 * re-hashed probes of the table, each backend tried once, which spreads them
 * over the pool by weight.
 */
import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, Selector } from "../core/selector.js";
import { type HashFunctionName, signedHashFunctions } from "../hashing/hash-functions.js";
import { type HashKeyOption, KeyHasher } from "../hashing/hash-key.js";
import { DEFAULT_TABLE_SIZE, isPrime, MaglevTable } from "../hashing/maglev.js";
import { describeOrigin, hashFunctionOption, hashKeyOption } from "./consistent-hash.js";
import type { AlgorithmDefinition } from "./definition.js";

export const maglevOptions = z.strictObject({
  hashKey: hashKeyOption,
  hashFunction: hashFunctionOption,
  tableSize: z
    .number()
    .int()
    .min(3)
    .max(16_777_259)
    .refine(isPrime, "tableSize must be a prime number (e.g. 65537 or 655373)")
    .default(DEFAULT_TABLE_SIZE)
    .describe("lookup table entries, prime; keep it over 100 x the number of backends"),
});

export interface MaglevSettings {
  hashKey: HashKeyOption;
  hashFunction: HashFunctionName;
  tableSize: number;
}

export class MaglevSelector implements Selector {
  readonly name = "maglev";
  readonly #table: MaglevTable<Backend>;
  readonly #hasher: KeyHasher;
  readonly #settings: MaglevSettings;

  constructor(settings: MaglevSettings) {
    this.#settings = settings;
    const hash = signedHashFunctions[settings.hashFunction];
    this.#table = new MaglevTable({ hash, tableSize: settings.tableSize });
    this.#hasher = new KeyHasher(settings.hashKey, hash);
  }

  /** The lookup table, for inspection. */
  get table(): MaglevTable<Backend> {
    return this.#table;
  }

  rebuild(backends: readonly Backend[]): void {
    this.#table.sync(backends);
  }

  pick(ctx: RequestContext, accept: Accept): Backend | undefined {
    if (this.#table.memberCount === 0) return undefined;
    return this.#table.find(this.#hasher.point(ctx), accept, undefined);
  }

  describe(backend: Backend): string {
    return (
      `${describeOrigin(this.#hasher, this.#settings.hashKey)} (${this.#settings.hashFunction}), ` +
      `Maglev table entry (${this.#table.entriesOf(backend)} of ${this.#table.size} entries)`
    );
  }
}

export const maglev: AlgorithmDefinition<z.output<typeof maglevOptions>> = {
  name: "maglev",
  summary: "Key → backend via a Maglev lookup table: O(1) lookup, near-exact weighted shares.",
  reference: "Eisenbud et al., NSDI 2016",
  options: maglevOptions,
  create: (options) => new MaglevSelector(options),
};
