/**
 * A pool's discovery: one source (DNS, a file or etcd) feeding the pool, which can
 * be swapped while it runs (a config reload). The backends the old source
 * added stay owned across the swap, so the new source's first answer adds
 * what is new and drains what it no longer lists; turning discovery off
 * drains them all. Static backends are never touched.
 *
 *   const discovery = new Discovery(balancer.pool, { dns: { srv: "_http._tcp.orders.internal" } });
 *   await discovery.start(); // after the first lookup
 */
import type { Pool } from "../core/pool.js";
import type { WatchLogger } from "../core/watch-file.js";
import { DiscoveredBackends } from "./discovered-backends.js";
import { type DiscoveryConfig, type DiscoveryOptions, parseDiscoveryOptions } from "./discovery-options.js";
import { DnsDiscovery } from "./dns-discovery.js";
import { EtcdDiscovery } from "./etcd-discovery.js";
import { FileDiscovery } from "./file-discovery.js";
import type { DiscoveryStats } from "./refresh-status.js";

type Source = DnsDiscovery | FileDiscovery | EtcdDiscovery;

const quiet: WatchLogger = { info: () => {}, warn: () => {}, error: () => {} };

export class Discovery {
  readonly #members: DiscoveredBackends;
  readonly #logger: WatchLogger;
  #source: Source | undefined;

  /** `options` undefined: no source until `update` gives one. Throws SY_ERR_INVALID_OPTIONS. */
  constructor(
    pool: Pool,
    options: DiscoveryOptions | DiscoveryConfig | undefined,
    logger: WatchLogger = quiet,
  ) {
    this.#logger = logger;
    this.#members = new DiscoveredBackends(pool, logger);
    this.#source = this.#create(options);
  }

  /** Starts following the source; resolves after its first answer (failed or not). */
  async start(): Promise<void> {
    await this.#source?.start();
  }

  /** Replaces the source and starts the new one; undefined drains every discovered backend. */
  async update(options: DiscoveryOptions | DiscoveryConfig | undefined): Promise<void> {
    const next = this.#create(options);
    this.#source?.stop();
    this.#source = next;
    if (next === undefined) this.#members.apply([], "discovery turned off");
    else await next.start();
  }

  /** Stops following; the backends stay as they are. */
  stop(): void {
    this.#source?.stop();
  }

  /** The source's state; undefined without one. */
  stats(): DiscoveryStats | undefined {
    return this.#source?.stats();
  }

  #create(options: DiscoveryOptions | DiscoveryConfig | undefined): Source | undefined {
    if (options === undefined) return undefined;
    const { dns, file, etcd } = parseDiscoveryOptions(options);
    if (dns !== undefined) return new DnsDiscovery(this.#members, dns, this.#logger);
    if (file !== undefined) return new FileDiscovery(this.#members, file, this.#logger);
    if (etcd !== undefined) return new EtcdDiscovery(this.#members, etcd, this.#logger);
    return undefined;
  }
}
