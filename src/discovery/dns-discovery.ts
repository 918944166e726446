/**
 * DNS discovery: a pool's backends follow DNS records, either a hostname's
 * A and AAAA records (each address a backend on `port`) or an SRV name's
 * records (see dns-lookup.ts). The name is resolved again when the shortest
 * TTL of its answer runs out (clamped to `minTtlMs` .. `maxTtlMs`) and the
 * pool follows the answer (discovered-backends.ts). A failed lookup keeps
 * the backends as they are and is retried after `retryMs`: a DNS outage is
 * no reason to empty a pool. The resolver is node's, pointed at `servers`
 * when given.
 */
import { Resolver } from "node:dns/promises";
import type { WatchLogger } from "../core/watch-file.js";
import type { DiscoveredBackends } from "./discovered-backends.js";
import type { DnsDiscoveryConfig } from "./discovery-options.js";
import { type DnsAnswer, lookupHost, lookupSrv } from "./dns-lookup.js";
import { type DiscoveryStats, RefreshStatus } from "./refresh-status.js";

export class DnsDiscovery {
  readonly options: Readonly<DnsDiscoveryConfig>;
  readonly #members: DiscoveredBackends;
  readonly #resolver: Resolver;
  readonly #status: RefreshStatus;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(members: DiscoveredBackends, options: DnsDiscoveryConfig, logger: WatchLogger) {
    this.options = Object.freeze({ ...options });
    this.#members = members;
    this.#resolver = new Resolver({ timeout: options.timeoutMs, tries: 2 });
    if (options.servers) this.#resolver.setServers([...options.servers]);
    const target = options.srv ?? options.hostname ?? "";
    this.#status = new RefreshStatus("dns", target, `dns ${target}`, logger);
  }

  /** Resolves now and keeps following the records until `stop()`; resolves after the first lookup. */
  async start(): Promise<void> {
    this.#running = true;
    await this.#refresh();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#resolver.cancel();
  }

  /** One lookup: applies the answer and schedules the next one. */
  async #refresh(): Promise<void> {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const { minTtlMs, maxTtlMs, retryMs, drainTimeoutMs } = this.options;
    let delayMs: number;
    try {
      const answer = await this.#lookup();
      if (!this.#running) return;
      this.#status.succeeded();
      this.#members.apply(answer.backends, this.#status.label, drainTimeoutMs);
      delayMs = Math.min(maxTtlMs, Math.max(minTtlMs, (answer.ttl ?? 0) * 1000));
    } catch (error) {
      if (!this.#running) return;
      this.#status.failed(error);
      delayMs = retryMs;
    }
    this.#timer = setTimeout(() => void this.#refresh(), delayMs);
    this.#timer.unref();
  }

  stats(): DiscoveryStats {
    return this.#status.stats(this.#members.size);
  }

  #lookup(): Promise<DnsAnswer> {
    const { srv, hostname = "", port = 0, families } = this.options;
    return srv !== undefined
      ? lookupSrv(this.#resolver, srv, families)
      : lookupHost(this.#resolver, hostname, port, families);
  }
}
