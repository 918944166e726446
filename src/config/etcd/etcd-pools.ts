/**
 * Writing pools in etcd (layout in discovery/etcd-pool-keys.ts, reads in
 * discovery/etcd-pool-reads.ts). Every write (config push, admin writes)
 * reads the pool, computes its next content and writes, in one transaction,
 * only the keys that differ, on condition that none of them changed since
 * the read: writers on different backends never clobber each other, and a
 * lost race is retried on fresh data, not overwritten.
 */

import { isDeepStrictEqual } from "node:util";
import type { Etcd3, ICompare, IRequestOp } from "etcd3";
import { ErrorCodes, SwitchyardError } from "../../core/errors.js";
import { toStoreError } from "../../discovery/etcd-client.js";
import { poolEntries, type RawPool } from "../../discovery/etcd-pool-keys.js";
import { readStoredPool, type StoredPool, type StoreLocation } from "../../discovery/etcd-pool-reads.js";

export interface PoolWrite {
  /** The etcd revision holding the pool as written. */
  revision: number;
  /** False when the pool already was as asked, so nothing was written. */
  changed: boolean;
}

/** How often a write is retried after losing a race with another writer. */
const WRITE_ATTEMPTS = 5;

/**
 * Reads pool `name`, lets `change` compute its next content from what is
 * stored (undefined: nothing yet) and writes the difference conditionally;
 * on a lost race it reads and tries again. `change` may throw to refuse.
 * Returns the revision that holds the change (the read's when nothing changed).
 */
export async function changePool(
  client: Etcd3,
  location: StoreLocation,
  name: string,
  change: (stored: RawPool | undefined) => RawPool | Promise<RawPool>,
): Promise<PoolWrite> {
  for (let attempt = 1; attempt <= WRITE_ATTEMPTS; attempt++) {
    const before = await readStoredPool(client, location, name);
    const after = await change(before.pool === undefined ? undefined : structuredClone(before.pool));
    const revision = await updatePool(client, location, name, before, after);
    if (revision !== undefined) return { revision, changed: revision !== before.revision };
  }
  throw new SwitchyardError(
    ErrorCodes.CONFIG_STORE,
    `pool "${name}" kept changing in etcd while writing it (${WRITE_ATTEMPTS} attempts); try again`,
  );
}

/** Replaces what is stored under pool `name` with `pool` (config push). */
export function replacePool(
  client: Etcd3,
  location: StoreLocation,
  name: string,
  pool: RawPool,
): Promise<PoolWrite> {
  return changePool(client, location, name, () => pool);
}

/**
 * Writes the keys of `after` that differ from `before`, deleting keys it no
 * longer has, on condition that each touched key is as `before` read it.
 * Returns the new revision, `before.revision` when nothing differs, or
 * undefined when another writer changed a touched key first.
 */
async function updatePool(
  client: Etcd3,
  location: StoreLocation,
  name: string,
  before: StoredPool,
  after: RawPool,
): Promise<number | undefined> {
  const old = new Map(
    (before.pool ? poolEntries(location.prefix, name, before.pool) : []).map((entry) => [entry.key, entry]),
  );
  const compare: ICompare[] = [];
  const success: Promise<IRequestOp>[] = [];
  const expect = (key: string) => {
    const mod = before.mods.get(key);
    compare.push(
      mod === undefined
        ? { key: Buffer.from(key), target: "Create", result: "Equal", create_revision: 0 }
        : { key: Buffer.from(key), target: "Mod", result: "Equal", mod_revision: mod },
    );
  };
  for (const entry of poolEntries(location.prefix, name, after)) {
    const previous = old.get(entry.key);
    old.delete(entry.key);
    if (previous && isDeepStrictEqual(JSON.parse(previous.value), JSON.parse(entry.value))) continue;
    expect(entry.key);
    success.push(client.put(entry.key).value(entry.value).op());
  }
  for (const key of old.keys()) {
    expect(key);
    success.push(client.delete().key(key).op());
  }
  if (success.length === 0) return before.revision;
  const response = await client.kv
    .txn({ compare, success: await Promise.all(success), failure: [] })
    .catch((error: unknown) => {
      throw txnError(error, location, name, success.length);
    });
  return response.succeeded ? Number(response.header.revision) : undefined;
}

function txnError(
  error: unknown,
  location: StoreLocation,
  pool: string,
  operations: number,
): SwitchyardError {
  if (error instanceof Error && /too many operations in txn/.test(error.message)) {
    return new SwitchyardError(
      ErrorCodes.CONFIG_STORE,
      `etcd refused writing pool "${pool}": ${operations} operations in one transaction is more than etcd allows (its --max-txn-ops, default 128)`,
    );
  }
  return toStoreError(error, location, `writing pool "${pool}"`);
}
