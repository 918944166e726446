/**
 * The writes a shared config store (etcd) takes from the admin API, and
 * what each write answers. Defined with the config that owns the store; the
 * admin routes call it, the etcd store implements it.
 */
import type { AlgorithmSpec } from "../algorithms/registry.js";
import type { ConfigStoreStatus } from "./etcd/etcd-sync.js";
import type { BackendConfig } from "./schema.js";

/** A write made in a shared config store: the revision holding it, and whether this instance runs it yet. */
export interface StoreWrite {
  revision: number;
  /** False when this instance had not applied the revision when the wait ran out. */
  applied: boolean;
}

/**
 * A shared store holding the pools (etcd). When the host has one, admin
 * writes go to the store, which every instance follows, instead of to this
 * process's pools; each resolves once this instance applied the change (or
 * the wait ran out), and throws coded errors (SY_ERR_CONFIG_STORE when the
 * store cannot be reached).
 */
export interface AdminConfigStore {
  /** Connection state, revision and last error, for `/api/stats` and `/ready`. */
  status(): ConfigStoreStatus;
  addBackend(pool: string, backend: BackendConfig): Promise<StoreWrite>;
  updateBackend(
    pool: string,
    id: string,
    change: { weight?: number; enabled?: boolean },
  ): Promise<StoreWrite>;
  removeBackend(pool: string, id: string): Promise<StoreWrite>;
  setAlgorithm(pool: string, algorithm: AlgorithmSpec): Promise<StoreWrite>;
}
