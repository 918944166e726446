/**
 * A bounded table of sessions: key → pinned backend and expiry. Entries slide
 * (each touch pushes the expiry out by the TTL and moves the entry to the
 * young end), expire lazily on the injected clock when read, and the oldest
 * entry is evicted once the table is full. A Map keeps insertion order, so
 * delete-and-set is the whole LRU.
 */
export interface SessionEntry {
  backendId: string;
  expiresAt: number;
}

export class SessionTable {
  readonly #entries = new Map<string, SessionEntry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(ttlMs: number, maxEntries: number, now: () => number) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The live entry for `key`, or undefined (an expired one is dropped). Does not slide. */
  get(key: string): SessionEntry | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Pins `key` to `backendId` for another TTL from now, as the youngest entry. */
  set(key: string, backendId: string): void {
    this.#entries.delete(key);
    this.#entries.set(key, { backendId, expiresAt: this.#now() + this.#ttlMs });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Live sessions per backend id; drops the expired entries it walks over. */
  countByBackend(): Map<string, number> {
    const now = this.#now();
    const counts = new Map<string, number>();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(key);
        continue;
      }
      counts.set(entry.backendId, (counts.get(entry.backendId) ?? 0) + 1);
    }
    return counts;
  }
}
