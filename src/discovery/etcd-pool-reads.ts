/**
 * Reading pools from etcd (layout in etcd-pool-keys.ts): every pool under a
 * prefix, or one pool with each key's mod revision. A read returns what it
 * found with the store revision it saw. The config store follows and writes
 * pools with these reads; etcd discovery follows one pool's backends.
 */
import type { Etcd3 } from "etcd3";
import { SwitchyardError } from "../core/errors.js";
import { type EtcdClientOptions, toStoreError } from "./etcd-client.js";
import { poolKey, poolsFromEntries, poolsPrefix, type RawPool, type StoredEntry } from "./etcd-pool-keys.js";

export interface StoreLocation extends EtcdClientOptions {
  prefix: string;
}

export interface StoredPools {
  pools: Record<string, RawPool>;
  /** The etcd revision the read saw. */
  revision: number;
}

/** One pool as stored (undefined when etcd has no key of it), with each key's mod revision. */
export interface StoredPool {
  pool: RawPool | undefined;
  mods: Map<string, number>;
  revision: number;
}

/**
 * Every pool under the prefix. Throws SY_ERR_CONFIG_STORE when etcd fails,
 * SY_ERR_CONFIG (with `details.revision`) on malformed keys.
 */
export async function readStoredPools(client: Etcd3, location: StoreLocation): Promise<StoredPools> {
  const response = await client
    .getAll()
    .prefix(poolsPrefix(location.prefix))
    .exec()
    .catch((error: unknown) => {
      throw toStoreError(error, location, "reading the pools");
    });
  const entries = response.kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString() }));
  const revision = Number(response.header.revision);
  try {
    return { pools: poolsFromEntries(location.prefix, entries), revision };
  } catch (error) {
    // Which revision is malformed, so a follower can reject it once.
    if (error instanceof SwitchyardError)
      throw new SwitchyardError(error.code, error.message, { ...error.details, revision });
    throw error;
  }
}

/** Pool `name`; throws SY_ERR_CONFIG_STORE when etcd fails, SY_ERR_CONFIG on malformed keys. */
export async function readStoredPool(
  client: Etcd3,
  location: StoreLocation,
  name: string,
): Promise<StoredPool> {
  const key = poolKey(location.prefix, name);
  const response = await client
    .getAll()
    .prefix(key)
    .exec()
    .catch((error: unknown) => {
      throw toStoreError(error, location, `reading pool "${name}"`);
    });
  const entries: StoredEntry[] = [];
  const mods = new Map<string, number>();
  for (const kv of response.kvs) {
    const stored = kv.key.toString();
    // The prefix also matches pools whose names extend this one ("web" and "web2").
    if (stored !== key && !stored.startsWith(`${key}/`)) continue;
    entries.push({ key: stored, value: kv.value.toString() });
    mods.set(stored, Number(kv.mod_revision));
  }
  const pool = entries.length === 0 ? undefined : poolsFromEntries(location.prefix, entries)[name];
  return { pool, mods, revision: Number(response.header.revision) };
}
