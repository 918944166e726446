/**
 * etcd discovery: a pool's backends follow the backends of a pool stored in
 * etcd, in the config store's layout (`PREFIX pools/POOL/backends/ID`, see
 * etcd-pool-keys.ts), so a client dispatcher or another proxy can follow
 * what `switchyard config push` and the admin API of instances on
 * `configStore: etcd` write. The pool's keys are followed with a watch
 * (etcd-follower.ts): each change, and each reconnect, reads the pool again
 * and the pool here follows its backends (discovered-backends.ts), checked
 * as a backends file is (`agent` is left out: it is the proxy's business).
 * Only backends are taken; the stored pool's settings are not.
 *
 * A failed read, malformed keys, or no such pool keep the backends as they
 * are and are reported; so is losing etcd, whose return reads the pool at
 * once. etcd3 is loaded on `start()`, so the light entry points load it
 * only when a pool uses this source.
 */
import type { Etcd3 } from "etcd3";
import { ErrorCodes, isSwitchyardError, SwitchyardError } from "../core/errors.js";
import { isRecord } from "../core/is-record.js";
import type { WatchLogger } from "../core/watch-file.js";
import { parseBackendList } from "./backends-file.js";
import type { DiscoveredBackends } from "./discovered-backends.js";
import type { EtcdDiscoveryConfig } from "./discovery-options.js";
import type { EtcdPrefixFollower } from "./etcd-follower.js";
import { poolKey } from "./etcd-pool-keys.js";
import type { StoredPool } from "./etcd-pool-reads.js";
import { type DiscoveryStats, RefreshStatus } from "./refresh-status.js";

export class EtcdDiscovery {
  readonly options: Readonly<EtcdDiscoveryConfig>;
  readonly #members: DiscoveredBackends;
  readonly #status: RefreshStatus;
  #client: Etcd3 | undefined;
  #follower: EtcdPrefixFollower | undefined;
  /** The etcd revision of the last list applied: an older read that finishes later is dropped. */
  #revision = 0;
  #running = false;

  constructor(members: DiscoveredBackends, options: EtcdDiscoveryConfig, logger: WatchLogger) {
    this.options = Object.freeze({ ...options });
    this.#members = members;
    const key = poolKey(options.prefix, options.pool);
    this.#status = new RefreshStatus("etcd", key, `etcd ${key}`, logger);
  }

  /** Reads the pool and keeps following it until `stop()`; resolves after the first read. */
  async start(): Promise<void> {
    this.#running = true;
    const [{ createEtcdClient, describeEtcdError }, { EtcdPrefixFollower }, { readStoredPool }] =
      await Promise.all([
        import("./etcd-client.js"),
        import("./etcd-follower.js"),
        import("./etcd-pool-reads.js"),
      ]);
    if (!this.#running) return;
    const client = createEtcdClient(this.options);
    const { pool } = this.options;
    const read = () => this.#read(() => readStoredPool(client, this.options, pool));
    const where = `etcd at ${this.options.endpoints.join(", ")}`;
    const reason = (error: Error) => describeEtcdError(error, this.options.requestTimeoutMs);
    this.#client = client;
    // The pool's own key and its backends' (and those of pools whose names extend it, dropped on read).
    this.#follower = new EtcdPrefixFollower(
      client,
      { prefix: poolKey(this.options.prefix, pool), debounceMs: this.options.debounceMs },
      {
        read,
        disconnected: (error) => {
          if (error && this.#running) {
            this.#status.failed(`${where} is unreachable (watching pool "${pool}"): ${reason(error)}`);
          }
        },
        cancelled: (error) =>
          this.#status.failed(`${where} cancelled the watch on pool "${pool}": ${reason(error)}`),
      },
    );
    this.#follower.start();
    await read();
  }

  /** Stops following; the backends stay as they are. */
  stop(): void {
    this.#running = false;
    const client = this.#client;
    const follower = this.#follower;
    this.#client = undefined;
    this.#follower = undefined;
    void follower?.close().finally(() => client?.close());
  }

  stats(): DiscoveryStats {
    return this.#status.stats(this.#members.size);
  }

  /** One read of the pool (`readPool`), applied unless a newer one was. */
  async #read(readPool: () => Promise<StoredPool>): Promise<void> {
    try {
      const { pool, revision } = await readPool();
      if (!this.#running || revision < this.#revision) return;
      if (pool === undefined) {
        throw new SwitchyardError(ErrorCodes.CONFIG, `no pool "${this.options.pool}" in etcd`);
      }
      const raw = Array.isArray(pool.backends) ? pool.backends : [];
      const backends = parseBackendList(raw.map(withoutAgent));
      this.#revision = revision;
      this.#status.succeeded();
      this.#members.apply(backends, this.#status.label, this.options.drainTimeoutMs);
    } catch (error) {
      if (!this.#running) return;
      this.#status.failed((error instanceof Error ? error.message : String(error)).replace(/\n\s*/g, " "));
      // Unreadable: try again soon. Malformed or absent: the fix is a change, which the watch sees.
      if (!isSwitchyardError(error, "SY_ERR_CONFIG")) this.#follower?.retryLater();
    }
  }
}

/** A stored backend without its `agent`: the proxy polls agents, discovery does not. */
function withoutAgent(backend: unknown): unknown {
  if (!isRecord(backend)) return backend;
  const { agent: _agent, ...rest } = backend;
  return rest;
}
