/**
 * `switchyard config push` and `switchyard config get`: operators' access to
 * the pools and listeners' routes stored in etcd. `push` validates a config
 * file with the schema the proxy uses, then writes each of its pools in one
 * transaction (replacing what is stored under that pool, leaving other pools
 * alone) and then each listener's route list (replacing it, or deleting it
 * when the file gives that listener no routes; listeners not in the file are
 * left alone); `get` prints what is stored, as YAML (default) or JSON. etcd
 * comes from `--etcd` or the file's `configStore`; the etcd client loads
 * only when a command runs.
 */
import type { Etcd3 } from "etcd3";
import { stringify } from "yaml";
import { routesKey } from "../config/etcd/etcd-route-keys.js";
import { parseConfig, resolveRawConfig } from "../config/load.js";
import type { SwitchyardConfig } from "../config/schema.js";
import { ErrorCodes } from "../core/errors.js";
import { isRecord } from "../core/is-record.js";
import { DEFAULT_STORE_PREFIX, isEtcdEndpoint, storePrefixSchema } from "../discovery/etcd-location.js";
import { poolKey, type RawPool } from "../discovery/etcd-pool-keys.js";
import type { StoreLocation } from "../discovery/etcd-pool-reads.js";
import { UsageError } from "./arguments.js";
import { plural } from "./text-format.js";

/** Where the pools are, as the flags say. */
export interface ConfigStoreFlags {
  config?: string;
  etcd?: string[];
  prefix?: string;
}

export interface ConfigGetOptions extends ConfigStoreFlags {
  json?: boolean;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 2_000;

/**
 * Writes every pool of `options.config` to etcd, then every listener's routes
 * (after the pools, so routes to a new pool arrive once it exists); one line
 * per pool and per listener whose stored routes are written, kept or deleted.
 */
export async function configPushCommand(
  options: ConfigStoreFlags & { config: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const { raw, source } = await resolveRawConfig({ file: options.config });
  const config = parseConfig(raw, { source });
  const location = storeLocation(options, config);
  const pools = (raw as { pools: Record<string, RawPool> }).pools;
  const listeners = (raw as { listeners: unknown[] }).listeners.filter(isRecord);
  const { replacePool } = await import("../config/etcd/etcd-pools.js");
  const { replaceRoutes } = await import("../config/etcd/etcd-routes.js");
  await withClient(location, async (client) => {
    for (const [name, pool] of Object.entries(pools)) {
      const { revision, changed } = await replacePool(client, location, name, pool);
      const backends = plural(Array.isArray(pool.backends) ? pool.backends.length : 0, "backend");
      const what = changed ? "pushed" : "unchanged";
      out.write(
        `${what}: pool "${name}" (${backends}) at ${poolKey(location.prefix, name)}, revision ${revision}\n`,
      );
    }
    for (const listener of listeners) {
      const name = String(listener.name);
      const routes =
        Array.isArray(listener.routes) && listener.routes.length > 0 ? listener.routes : undefined;
      const { revision, outcome } = await replaceRoutes(client, location, name, routes);
      if (outcome === "absent") continue;
      const count = routes === undefined ? "" : ` (${plural(routes.length, "route")})`;
      out.write(
        `${outcome}: routes of listener "${name}"${count} at ${routesKey(location.prefix, name)}, revision ${revision}\n`,
      );
    }
  });
}

/** Prints the pools and listeners' routes stored under the prefix. */
export async function configGetCommand(
  options: ConfigGetOptions,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const config = options.config === undefined ? undefined : await fileConfig(options.config);
  const location = storeLocation(options, config);
  const { readStoredConfig } = await import("../config/etcd/etcd-store-reads.js");
  const { pools, routes, revision } = await withClient(location, (client) =>
    readStoredConfig(client, location),
  );
  if (options.json) {
    const { endpoints, prefix } = location;
    out.write(`${JSON.stringify({ endpoints, prefix, revision, pools, routes }, null, 2)}\n`);
    return;
  }
  out.write(
    `# pools in etcd at ${location.endpoints.join(", ")} under ${location.prefix}, revision ${revision}\n`,
  );
  // Routes per listener name, shown only when some are stored.
  out.write(stringify(Object.keys(routes).length === 0 ? { pools } : { pools, routes }));
}

async function fileConfig(file: string): Promise<SwitchyardConfig> {
  const { raw, source } = await resolveRawConfig({ file });
  return parseConfig(raw, { source });
}

/** `--etcd`/`--prefix`, else the file's `configStore`, else (prefix only) the default. */
function storeLocation(flags: ConfigStoreFlags, config: SwitchyardConfig | undefined): StoreLocation {
  const endpoints = flags.etcd ?? config?.configStore?.endpoints;
  if (endpoints === undefined || endpoints.length === 0) {
    throw new UsageError(
      ErrorCodes.CONFIG,
      "no etcd to talk to: give --etcd URL (or a config file whose configStore lists endpoints)",
    );
  }
  const bad = endpoints.find((endpoint) => !isEtcdEndpoint(endpoint));
  if (bad !== undefined) {
    throw new UsageError(
      ErrorCodes.CONFIG,
      `--etcd: expected an etcd client URL "http://host:port" or "https://host:port", found "${bad}"`,
    );
  }
  const prefix = flags.prefix ?? config?.configStore?.prefix ?? DEFAULT_STORE_PREFIX;
  const checked = storePrefixSchema.safeParse(prefix);
  if (!checked.success) {
    throw new UsageError(
      ErrorCodes.CONFIG,
      `--prefix: ${checked.error.issues[0]?.message}, found "${prefix}"`,
    );
  }
  return {
    endpoints,
    prefix,
    requestTimeoutMs: config?.configStore?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}

/** Runs `action` with a client that is closed afterwards, so the command exits. */
async function withClient<T>(location: StoreLocation, action: (client: Etcd3) => Promise<T>): Promise<T> {
  const { createEtcdClient } = await import("../discovery/etcd-client.js");
  const client = createEtcdClient(location);
  try {
    return await action(client);
  } finally {
    client.close();
  }
}
