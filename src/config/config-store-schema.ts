/**
 * The `configStore` section: where the pools live. `file` (the default, also
 * when the section is absent) keeps them in the config file; `etcd` shares
 * them, and listeners' route lists, between instances under a key prefix
 * (see config/etcd/). Listeners themselves, admin and log settings always
 * stay in each instance's own file.
 *
 *   configStore: { provider: etcd, endpoints: [http://10.0.0.5:2379], prefix: /switchyard/ }
 */
import { z } from "zod";
import { durationMs } from "../core/duration.js";
import { DEFAULT_STORE_PREFIX, etcdEndpointsSchema, storePrefixSchema } from "../discovery/etcd-location.js";

export const CONFIG_STORE_PROVIDERS = ["file", "etcd"] as const;

/** Where the pools and routes live: the config file (default), or etcd, shared by every instance on the same prefix. */
export const configStoreSchema = z.strictObject({
  provider: z
    .enum(CONFIG_STORE_PROVIDERS)
    .default("file")
    .describe(
      "file: the pools come from this file; etcd: from etcd (with listeners' route lists), shared by every instance on the prefix",
    ),
  endpoints: etcdEndpointsSchema(),
  prefix: storePrefixSchema
    .default(DEFAULT_STORE_PREFIX)
    .describe('key prefix of the pools and routes in etcd, ending in "/"'),
  requestTimeoutMs: durationMs(1, 60_000).default(2_000).describe("deadline of each etcd read or write"),
  applyTimeoutMs: durationMs(1, 60_000)
    .default(2_000)
    .describe("how long an admin write waits for this instance to apply it before answering 202"),
  debounceMs: durationMs(0, 10_000)
    .default(50)
    .describe("changes arriving within this window are applied together"),
});

export type ConfigStoreConfig = z.output<typeof configStoreSchema>;
