/**
 * Where a running proxy's config comes from. Without `configStore` (or with
 * `provider: file`) it is the config file (with environment and flags), as
 * before. With `provider: etcd` the pools and route lists stored in etcd are
 * merged over the file's (a pool in etcd replaces the file's pool of that
 * name, a stored route list the routes of the file's listener of that name),
 * the result is validated by the same schema, and the store is followed:
 * each change in etcd, like each edit of the file, is applied through
 * `runtime.reload`. The etcd client loads only for the etcd provider.
 */
import { z } from "zod";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { isRecord } from "../core/is-record.js";
import type { RawPool } from "../discovery/etcd-pool-keys.js";
import type { Logger } from "../observability/logger.js";
import { configStoreSchema } from "./config-store-schema.js";
import type { FollowTarget } from "./etcd/etcd-config-store.js";
import type { StoredRoutes } from "./etcd/etcd-route-keys.js";
import type { StoredContent } from "./etcd/etcd-store-reads.js";
import { parseAgainst, parseConfig, type RawConfig } from "./load.js";
import type { SwitchyardConfig } from "./schema.js";
import type { AdminConfigStore } from "./store-writes.js";

export interface ConfigStore {
  /** The config as it stands now: the file re-read, the store's last applied pools and routes merged over it. */
  resolve(): Promise<SwitchyardConfig>;
  /** Status and writes for the admin API; undefined when the pools live in the file. */
  readonly admin: AdminConfigStore | undefined;
  /** Applies every change in the store to `runtime` from now on (nothing to follow for the file). */
  follow(runtime: FollowTarget, logger: Logger): void;
  close(): Promise<void>;
}

const storeSection = z.looseObject({ configStore: configStoreSchema });

/**
 * Opens the store the raw config names. For etcd this reads the pools once
 * and throws SY_ERR_CONFIG_STORE when etcd cannot be read; an invalid
 * `configStore` section throws SY_ERR_CONFIG naming its fields.
 */
export async function openConfigStore(resolveRaw: () => Promise<RawConfig>): Promise<ConfigStore> {
  const first = await resolveRaw();
  const section = isRecord(first.raw) ? first.raw.configStore : undefined;
  if (!isRecord(section) || section.provider !== "etcd") {
    return {
      resolve: async () => {
        const { raw, ...parse } = await resolveRaw();
        return parseConfig(raw, parse);
      },
      admin: undefined,
      follow: () => undefined,
      close: async () => undefined,
    };
  }
  const options = parseAgainst(storeSection, first.raw, first).configStore;
  const build = async (stored: StoredContent) => {
    const { raw, ...parse } = await resolveRaw();
    return parseConfig(withStoredRoutes(withStoredPools(raw, stored.pools), stored.routes), parse);
  };
  const { EtcdConfigStore } = await import("./etcd/etcd-config-store.js");
  const store = await EtcdConfigStore.open(options, build);
  return {
    resolve: () => build(store.stored),
    admin: store.admin,
    follow: (runtime, logger) => store.follow(runtime, logger),
    close: () => store.close(),
  };
}

/** `raw` with `pools` replacing the file's pools of the same names. */
export function withStoredPools(raw: unknown, pools: Record<string, RawPool>): unknown {
  if (!isRecord(raw)) return raw;
  return { ...raw, pools: { ...(isRecord(raw.pools) ? raw.pools : {}), ...pools } };
}

/**
 * `raw` with each stored route list replacing the routes of the file's
 * listener of that name. Throws SY_ERR_CONFIG when a list names a listener
 * the file does not have: routes only exist on a listener.
 */
export function withStoredRoutes(raw: unknown, routes: StoredRoutes): unknown {
  const names = Object.keys(routes);
  if (names.length === 0 || !isRecord(raw)) return raw;
  const listeners = Array.isArray(raw.listeners) ? raw.listeners : [];
  const nameOf = (listener: unknown) => (isRecord(listener) ? listener.name : undefined);
  const missing = names.filter((name) => !listeners.some((listener) => nameOf(listener) === name));
  if (missing.length > 0) {
    const known = listeners.map(nameOf).filter((name) => typeof name === "string");
    throw new SwitchyardError(
      ErrorCodes.CONFIG,
      `invalid routes in etcd: routes are stored for ${missing.map((name) => `listener "${name}"`).join(", ")}, which the config file does not have (its listeners: ${known.join(", ") || "none"})`,
      { listeners: missing },
    );
  }
  return {
    ...raw,
    listeners: listeners.map((listener) => {
      const name = nameOf(listener);
      return typeof name === "string" && Object.hasOwn(routes, name)
        ? { ...listener, routes: routes[name] }
        : listener;
    }),
  };
}
