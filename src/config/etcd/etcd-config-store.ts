/**
 * The etcd provider as the proxy uses it: at start, one read of the pools
 * and routes (an instance needs etcd to start; once running, losing etcd never stops
 * routing); then a sync that applies every change through `runtime.reload`
 * (etcd-sync.ts), and admin writes that go to etcd (etcd-admin-writes.ts).
 */
import type { Etcd3 } from "etcd3";
import { createEtcdClient } from "../../discovery/etcd-client.js";
import type { Logger } from "../../observability/logger.js";
import type { ConfigStoreConfig } from "../config-store-schema.js";
import type { SwitchyardConfig } from "../schema.js";
import type { AdminConfigStore } from "../store-writes.js";
import { EtcdAdminWrites } from "./etcd-admin-writes.js";
import { readStoredConfig, type StoredConfig, type StoredContent } from "./etcd-store-reads.js";
import { type BuildConfig, EtcdPoolSync, type SyncTarget } from "./etcd-sync.js";

/** What the store follows: the runtime, whose config it reads for pools etcd does not hold yet. */
export interface FollowTarget extends SyncTarget {
  readonly config: SwitchyardConfig;
}

export class EtcdConfigStore {
  /** Status and writes for the admin API. */
  readonly admin: AdminConfigStore;
  readonly #client: Etcd3;
  readonly #sync: EtcdPoolSync;
  #target: FollowTarget | undefined;

  private constructor(client: Etcd3, options: ConfigStoreConfig, initial: StoredConfig, build: BuildConfig) {
    this.#client = client;
    this.#sync = new EtcdPoolSync(client, options, initial, build);
    this.admin = new EtcdAdminWrites(client, options, this.#sync, build, () => this.#target?.config);
  }

  /** Connects and reads the pools and routes; throws SY_ERR_CONFIG_STORE when etcd cannot be read. */
  static async open(options: ConfigStoreConfig, build: BuildConfig): Promise<EtcdConfigStore> {
    const client = createEtcdClient(options);
    try {
      return new EtcdConfigStore(client, options, await readStoredConfig(client, options), build);
    } catch (error) {
      client.close();
      throw error;
    }
  }

  /** The stored pools and routes the running config merges over the file's. */
  get stored(): StoredContent {
    return this.#sync.stored;
  }

  /** Applies every change in etcd to `target` from now on. */
  follow(target: FollowTarget, logger: Logger): void {
    this.#target = target;
    this.#sync.start(target, logger);
  }

  async close(): Promise<void> {
    await this.#sync.close();
    this.#client.close();
  }
}
