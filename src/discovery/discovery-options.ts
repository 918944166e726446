/**
 * Where a pool's backends come from besides its static list: DNS (a name's
 * A/AAAA records with a port, or an SRV name whose records carry targets,
 * ports and weights), a JSON file, or a pool's backends in etcd (as the
 * config store keeps them). One zod schema for the config file
 * (`pools.<name>.discovery`) and the client (`services.<name>.discovery`),
 * so both accept and reject the same things; parsing is idempotent.
 *
 *   discovery: { dns: { hostname: orders.internal, port: 8080 } }
 *   discovery: { dns: { srv: _http._tcp.orders.internal } }
 *   discovery: { file: { path: /etc/switchyard/orders.json } }
 *   discovery: { etcd: { endpoints: [http://10.0.0.5:2379], pool: orders } }
 */
import { isIP } from "node:net";
import { z } from "zod";
import { durationMs, MAX_TIMER_MS } from "../core/duration.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { numberIn } from "../core/numbers.js";
import { DEFAULT_STORE_PREFIX, etcdEndpointsSchema, storePrefixSchema } from "./etcd-location.js";
import { poolKey } from "./etcd-pool-keys.js";

export const DNS_FAMILIES = ["A", "AAAA"] as const;

const SERVER_EXPECTED = 'expected a DNS server "ip" or "ip:port" ("[v6]:port")';

/** `ip`, `ip:port` or `[v6]:port`, as node's Resolver#setServers takes them. */
function isDnsServer(text: string): boolean {
  if (isIP(text) !== 0) return true;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  if (!match) return false;
  const port = Number(match[3]);
  return isIP(match[1] ?? match[2] ?? "") !== 0 && port >= 1 && port <= 65_535;
}

const drainTimeoutMs = () =>
  durationMs(1, MAX_TIMER_MS)
    .optional()
    .describe(
      "upper bound on draining a backend that left the list (requests in flight finish); default 30s",
    );

export const dnsDiscoverySchema = z
  .strictObject({
    hostname: z
      .string()
      .min(1)
      .optional()
      .describe("a name whose A/AAAA records are the backends' addresses, each on port; or srv"),
    srv: z
      .string()
      .min(1)
      .optional()
      .describe(
        "an SRV name such as \"_http._tcp.orders.internal\": each target's addresses on the record's port are backends, weighted by the record's weight; only the lowest priority is used; or hostname",
      ),
    port: numberIn(1, 65_535, { int: true })
      .optional()
      .describe("the port every address of hostname serves on (SRV records carry their own)"),
    families: z
      .array(z.enum(DNS_FAMILIES))
      .min(1)
      .default(["A", "AAAA"])
      .describe("the address records looked up, for hostname and for SRV targets: A (IPv4), AAAA (IPv6)"),
    servers: z
      .array(z.string({ error: SERVER_EXPECTED }).refine(isDnsServer, { error: SERVER_EXPECTED }))
      .min(1)
      .optional()
      .describe('DNS servers to ask, "ip" or "ip:port"; default the system\'s'),
    minTtlMs: durationMs(0, 86_400_000)
      .default(1_000)
      .describe("floor on the time between lookups (records are looked up again when their TTL runs out)"),
    maxTtlMs: durationMs(1, 86_400_000)
      .default(300_000)
      .describe(
        "ceiling on the time between lookups; for srv it also bounds how long a change goes unseen (node reports the TTL of address records only)",
      ),
    retryMs: durationMs(1, 3_600_000).default(5_000).describe("wait before retrying a failed lookup"),
    timeoutMs: durationMs(1, 60_000).default(2_000).describe("timeout of each DNS query (tried twice)"),
    drainTimeoutMs: drainTimeoutMs(),
  })
  .superRefine((dns, ctx) => {
    if ((dns.hostname === undefined) === (dns.srv === undefined)) {
      ctx.addIssue({ code: "custom", message: "expected either hostname (with port) or srv" });
    } else if (dns.hostname !== undefined && dns.port === undefined) {
      ctx.addIssue({ code: "custom", path: ["port"], message: "expected the port the addresses serve on" });
    } else if (dns.srv !== undefined && dns.port !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["port"],
        message: "expected no port with srv (its records carry them)",
      });
    }
    if (dns.minTtlMs > dns.maxTtlMs) {
      ctx.addIssue({
        code: "custom",
        path: ["minTtlMs"],
        message: "expected minTtlMs no greater than maxTtlMs",
      });
    }
  });

export const fileDiscoverySchema = z.strictObject({
  path: z
    .string()
    .min(1)
    .describe(
      'a JSON file holding an array of backends, each "host:port" or an object as in a pool\'s backends (without agent); relative to the working directory',
    ),
  intervalMs: durationMs(100, 86_400_000)
    .default(10_000)
    .describe("the file is also re-read this often, for changes a file watch misses (network filesystems)"),
  drainTimeoutMs: drainTimeoutMs(),
});

const POOL_NAME_EXPECTED = 'expected a pool name (no "/")';

export const etcdDiscoverySchema = z.strictObject({
  endpoints: etcdEndpointsSchema(),
  prefix: storePrefixSchema
    .default(DEFAULT_STORE_PREFIX)
    .describe('key prefix the pools are stored under, ending in "/" (as configStore.prefix)'),
  pool: z
    .string({ error: POOL_NAME_EXPECTED })
    .regex(/^[^/]+$/, { error: POOL_NAME_EXPECTED })
    .describe(
      "the pool whose backends are followed: the keys PREFIX pools/POOL/backends/*, as switchyard config push and the admin API of instances on configStore etcd write them",
    ),
  requestTimeoutMs: durationMs(1, 60_000).default(2_000).describe("deadline of each etcd read"),
  debounceMs: durationMs(0, 10_000).default(50).describe("changes arriving within this window are read once"),
  drainTimeoutMs: drainTimeoutMs(),
});

const SOURCES = ["dns", "file", "etcd"] as const;

export const discoverySchema = z
  .strictObject({
    dns: dnsDiscoverySchema
      .optional()
      .describe("backends from DNS: A/AAAA records of hostname, or SRV records"),
    file: fileDiscoverySchema.optional().describe("backends from a JSON file, followed as it is edited"),
    etcd: etcdDiscoverySchema
      .optional()
      .describe("backends of a pool stored in etcd (as configStore etcd keeps pools), followed with a watch"),
  })
  .refine((discovery) => SOURCES.filter((source) => discovery[source] !== undefined).length === 1, {
    error: "expected one source: dns, file or etcd",
  });

export type DnsDiscoveryOptions = z.input<typeof dnsDiscoverySchema>;
export type FileDiscoveryOptions = z.input<typeof fileDiscoverySchema>;
export type EtcdDiscoveryOptions = z.input<typeof etcdDiscoverySchema>;
/** One source of backends: `{ dns: {...} }`, `{ file: {...} }` or `{ etcd: {...} }`. */
export type DiscoveryOptions =
  | { dns: DnsDiscoveryOptions }
  | { file: FileDiscoveryOptions }
  | { etcd: EtcdDiscoveryOptions };
export type DiscoveryConfig = z.output<typeof discoverySchema>;
export type DnsDiscoveryConfig = z.output<typeof dnsDiscoverySchema>;
export type FileDiscoveryConfig = z.output<typeof fileDiscoverySchema>;
export type EtcdDiscoveryConfig = z.output<typeof etcdDiscoverySchema>;

/** The source in a few words, for logs and summaries: `dns NAME`, `file PATH` or `etcd PREFIXpools/POOL`. */
export function describeDiscovery(discovery: DiscoveryConfig): string {
  if (discovery.dns !== undefined) return `dns ${discovery.dns.srv ?? discovery.dns.hostname}`;
  if (discovery.etcd !== undefined) return `etcd ${poolKey(discovery.etcd.prefix, discovery.etcd.pool)}`;
  return `file ${discovery.file?.path}`;
}

/** Validates discovery options; throws SY_ERR_INVALID_OPTIONS naming each bad field. */
export function parseDiscoveryOptions(options: DiscoveryOptions | DiscoveryConfig): DiscoveryConfig {
  const parsed = discoverySchema.safeParse(options);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (issue) => `${["discovery", ...issue.path].join(".")}: ${issue.message}`,
  );
  throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, `invalid discovery options: ${problems.join("; ")}`, {
    issues: parsed.error.issues,
  });
}
