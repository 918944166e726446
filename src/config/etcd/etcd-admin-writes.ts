/**
 * Admin writes on an etcd-backed instance: each one changes the pool in
 * etcd (only the keys it touches, conditionally: see etcd-pools.ts), then
 * waits, up to `applyTimeoutMs`, for this instance's watch to apply that
 * revision, so the answer shows the change. Before writing, the pool as it
 * would be is merged over the config file and validated, so a write never
 * stores a config every instance would reject. A pool that etcd does not
 * hold yet is first copied from the running config (it came from the file),
 * so the write adds to it instead of replacing it.
 */
import type { Etcd3 } from "etcd3";
import type { AlgorithmSpec } from "../../algorithms/registry.js";
import { ErrorCodes, SwitchyardError } from "../../core/errors.js";
import { type RawPool, rawBackendId } from "../../discovery/etcd-pool-keys.js";
import type { StoreLocation } from "../../discovery/etcd-pool-reads.js";
import type { BackendConfig, SwitchyardConfig } from "../schema.js";
import type { AdminConfigStore, StoreWrite } from "../store-writes.js";
import { changePool } from "./etcd-pools.js";
import type { BuildConfig, ConfigStoreStatus, EtcdPoolSync } from "./etcd-sync.js";

export interface AdminWritesOptions extends StoreLocation {
  /** How long a write waits for this instance to apply it. */
  applyTimeoutMs: number;
}

export class EtcdAdminWrites implements AdminConfigStore {
  readonly #client: Etcd3;
  readonly #options: AdminWritesOptions;
  readonly #sync: EtcdPoolSync;
  readonly #build: BuildConfig;
  readonly #running: () => SwitchyardConfig | undefined;

  /** `running` reads the config running here, for pools etcd does not hold yet. */
  constructor(
    client: Etcd3,
    options: AdminWritesOptions,
    sync: EtcdPoolSync,
    build: BuildConfig,
    running: () => SwitchyardConfig | undefined,
  ) {
    this.#client = client;
    this.#options = options;
    this.#sync = sync;
    this.#build = build;
    this.#running = running;
  }

  status(): ConfigStoreStatus {
    return this.#sync.status();
  }

  addBackend(pool: string, backend: BackendConfig): Promise<StoreWrite> {
    return this.#write(pool, (stored) => {
      const id = backend.id ?? backend.address;
      if (backends(stored).some((existing) => rawBackendId(existing) === id)) {
        throw new SwitchyardError(
          ErrorCodes.DUPLICATE_BACKEND,
          `pool "${pool}" already has a backend "${id}"`,
        );
      }
      return { ...stored, backends: [...backends(stored), backend] };
    });
  }

  updateBackend(
    pool: string,
    id: string,
    change: { weight?: number; enabled?: boolean },
  ): Promise<StoreWrite> {
    return this.#write(pool, (stored) => {
      const list = backends(stored);
      const index = findBackend(list, pool, id);
      const updated = { ...(list[index] as Record<string, unknown>) };
      if (change.weight !== undefined) updated.weight = change.weight;
      if (change.enabled !== undefined) updated.enabled = change.enabled;
      return { ...stored, backends: list.map((backend, at) => (at === index ? updated : backend)) };
    });
  }

  removeBackend(pool: string, id: string): Promise<StoreWrite> {
    return this.#write(pool, (stored) => {
      const list = backends(stored);
      const index = findBackend(list, pool, id);
      return { ...stored, backends: list.filter((_, at) => at !== index) };
    });
  }

  setAlgorithm(pool: string, algorithm: AlgorithmSpec): Promise<StoreWrite> {
    return this.#write(pool, (stored) => ({ ...stored, algorithm }));
  }

  async #write(pool: string, change: (stored: RawPool) => RawPool): Promise<StoreWrite> {
    const { revision } = await changePool(this.#client, this.#options, pool, async (stored) => {
      const next = change(stored ?? this.#fromRunningConfig(pool));
      // Validated against the file, the other pools and the routes as they run here.
      const running = this.#sync.stored;
      await this.#build({ ...running, pools: { ...running.pools, [pool]: next } });
      return next;
    });
    this.#sync.refresh(0);
    const applied = await this.#sync.waitForRevision(revision, this.#options.applyTimeoutMs);
    return { revision, applied };
  }

  #fromRunningConfig(pool: string): RawPool {
    const running = this.#running()?.pools[pool];
    if (!running) {
      throw new SwitchyardError(
        ErrorCodes.CONFIG_STORE,
        `pool "${pool}" is neither in etcd nor running here`,
      );
    }
    return structuredClone(running) as RawPool;
  }
}

function backends(pool: RawPool): unknown[] {
  return Array.isArray(pool.backends) ? pool.backends : [];
}

function findBackend(list: readonly unknown[], pool: string, id: string): number {
  const index = list.findIndex((backend) => rawBackendId(backend) === id);
  if (index === -1) {
    throw new SwitchyardError(ErrorCodes.UNKNOWN_BACKEND, `pool "${pool}" has no backend "${id}" in etcd`);
  }
  return index;
}
