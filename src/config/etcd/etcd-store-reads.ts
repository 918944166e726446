/**
 * What the config store holds, read at one etcd revision: every pool
 * (discovery/etcd-pool-reads.ts) and every listener's stored route list
 * (etcd-route-keys.ts). The routes are read at the revision the pools read
 * saw, so the two always belong to the same moment of the store.
 */
import type { Etcd3 } from "etcd3";
import { SwitchyardError } from "../../core/errors.js";
import { toStoreError } from "../../discovery/etcd-client.js";
import type { RawPool } from "../../discovery/etcd-pool-keys.js";
import { readStoredPools, type StoreLocation } from "../../discovery/etcd-pool-reads.js";
import { listenersPrefix, routesFromEntries, type StoredRoutes } from "./etcd-route-keys.js";

/** The pools and route lists etcd holds, as merged over a config file. */
export interface StoredContent {
  pools: Record<string, RawPool>;
  routes: StoredRoutes;
}

export interface StoredConfig extends StoredContent {
  /** The etcd revision the read saw. */
  revision: number;
}

/**
 * Every pool and route list under the prefix. Throws SY_ERR_CONFIG_STORE when
 * etcd fails, SY_ERR_CONFIG (with `details.revision`) on malformed keys.
 */
export async function readStoredConfig(client: Etcd3, location: StoreLocation): Promise<StoredConfig> {
  const { pools, revision } = await readStoredPools(client, location);
  const response = await client
    .getAll()
    .prefix(listenersPrefix(location.prefix))
    .revision(revision)
    .exec()
    .catch((error: unknown) => {
      throw toStoreError(error, location, "reading the routes");
    });
  const entries = response.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString() }));
  try {
    return { pools, routes: routesFromEntries(location.prefix, entries), revision };
  } catch (error) {
    // Which revision is malformed, so a follower can reject it once.
    if (error instanceof SwitchyardError)
      throw new SwitchyardError(error.code, error.message, { ...error.details, revision });
    throw error;
  }
}
