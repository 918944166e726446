/**
 * DNS discovery: a pool's backends follow a name's A and AAAA records. Each
 * address becomes a backend `address:port`; the name is resolved again when
 * the shortest TTL of its answer runs out (clamped to `minTtlMs` ..
 * `maxTtlMs`), addresses that appear are added and addresses that vanish
 * are removed with draining (requests in flight finish). A failed lookup
 * keeps the backends as they are and is retried after `retryMs` (a DNS
 * outage is no reason to empty a pool); a family with no records (ENODATA)
 * is simply empty. Backends added by others are left alone. The resolver is
 * node's, pointed at `servers` when given.
 */
import { Resolver } from "node:dns/promises";
import { formatHostPort } from "../core/address.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import type { Pool } from "../core/pool.js";

export interface DnsDiscoveryOptions {
  /** The name to resolve. */
  hostname: string;
  /** The port every resolved address serves on. */
  port: number;
  /** Record types to follow; default both. */
  families?: readonly ("A" | "AAAA")[];
  /** DNS servers (`ip` or `ip:port`); default the system's. */
  servers?: readonly string[];
  /** Floor on the re-resolution interval, ms; default 1000. */
  minTtlMs?: number;
  /** Ceiling on the re-resolution interval, ms; default 300000. */
  maxTtlMs?: number;
  /** Wait before retrying a failed lookup, ms; default 5000. */
  retryMs?: number;
  /** Upper bound on draining a backend whose record vanished, ms; default the pool's (30 s). */
  drainTimeoutMs?: number;
  /** Lookup timeout per try, ms; default 2000. */
  timeoutMs?: number;
}

interface Answer {
  addresses: string[];
  /** Shortest TTL in the answer, seconds; undefined when no record came back. */
  ttl: number | undefined;
}

export class DnsDiscovery {
  readonly options: Readonly<DnsDiscoveryOptions>;
  readonly #pool: Pool;
  readonly #resolver: Resolver;
  /** Backends this discovery added, by id. */
  readonly #owned = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  /** Lookups done and failed, for stats and tests. */
  lookups = 0;
  failures = 0;

  constructor(pool: Pool, options: DnsDiscoveryOptions) {
    if (!options.hostname || !Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new SwitchyardError(
        ErrorCodes.INVALID_OPTIONS,
        "dns discovery needs a hostname and a port from 1 to 65535",
        {
          hostname: options.hostname,
          port: options.port,
        },
      );
    }
    this.options = Object.freeze({ ...options });
    this.#pool = pool;
    this.#resolver = new Resolver({ timeout: options.timeoutMs ?? 2000, tries: 2 });
    if (options.servers) this.#resolver.setServers([...options.servers]);
  }

  /** Resolves now and keeps following the records until `stop()`; resolves after the first lookup. */
  async start(): Promise<void> {
    this.#running = true;
    await this.refresh();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#resolver.cancel();
  }

  /** One lookup: applies the answer and schedules the next one. */
  async refresh(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    let delayMs: number;
    try {
      const answer = await this.#lookup();
      this.lookups++;
      this.#apply(answer.addresses);
      const ttlMs = (answer.ttl ?? 0) * 1000;
      delayMs = Math.min(this.options.maxTtlMs ?? 300_000, Math.max(this.options.minTtlMs ?? 1000, ttlMs));
    } catch {
      this.failures++;
      delayMs = this.options.retryMs ?? 5000;
    }
    if (!this.#running) return;
    this.#timer = setTimeout(() => void this.refresh(), delayMs);
    this.#timer.unref();
  }

  async #lookup(): Promise<Answer> {
    const { hostname, families = ["A", "AAAA"] } = this.options;
    const results = await Promise.all(
      families.map((family) =>
        (family === "A"
          ? this.#resolver.resolve4(hostname, { ttl: true })
          : this.#resolver.resolve6(hostname, { ttl: true })
        ).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENODATA") return [];
          throw error;
        }),
      ),
    );
    const records = results.flat();
    const ttl = records.length === 0 ? undefined : Math.min(...records.map((record) => record.ttl));
    return { addresses: records.map((record) => record.address), ttl };
  }

  #apply(addresses: readonly string[]): void {
    const wanted = new Set(addresses.map((address) => formatHostPort(address, this.options.port)));
    for (const id of wanted) {
      if (this.#owned.has(id) || this.#pool.get(id) !== undefined) continue;
      this.#pool.add({ id, address: id });
      this.#owned.add(id);
    }
    for (const id of [...this.#owned]) {
      if (wanted.has(id)) continue;
      this.#owned.delete(id);
      if (this.#pool.get(id) === undefined) continue;
      void this.#pool.remove(id, { drain: true, drainTimeoutMs: this.options.drainTimeoutMs });
    }
  }
}
