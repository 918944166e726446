/**
 * One DNS answer turned into backends. A hostname's A/AAAA records become
 * `address:port`. An SRV name's records (RFC 2782) become each target's
 * addresses on the record's port: only the lowest priority among targets
 * that have addresses is kept (the others are there for when it is gone
 * from DNS), and the record's weight becomes the backend's (all zero: equal
 * weights; scaled down when above the pool's 10000). A target listed twice,
 * or two targets sharing an address, make one backend with the weights
 * added. A family without records (ENODATA) is empty; an SRV target that
 * does not exist (ENOTFOUND) has no addresses; any other error fails the
 * whole lookup, so the caller keeps its backends.
 *
 * `ttl` is the answer's shortest TTL in seconds. Node's resolver reports the
 * TTL of A and AAAA records only, so an SRV answer's is its targets'.
 */
import type { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { formatHostPort } from "../core/address.js";
import type { BackendSpec } from "../core/backend.js";
import type { DNS_FAMILIES } from "./discovery-options.js";

type Family = (typeof DNS_FAMILIES)[number];

const MAX_WEIGHT = 10_000;

export interface DnsAnswer {
  backends: BackendSpec[];
  /** Shortest TTL in the answer, seconds; undefined when no record carried one. */
  ttl: number | undefined;
}

interface Addresses {
  addresses: string[];
  ttl: number | undefined;
}

/** The backends `hostname`'s address records name, each on `port`. */
export async function lookupHost(
  resolver: Resolver,
  hostname: string,
  port: number,
  families: readonly Family[],
): Promise<DnsAnswer> {
  const { addresses, ttl } = await addressesOf(resolver, hostname, families);
  return { backends: addresses.map((address) => ({ address: formatHostPort(address, port) })), ttl };
}

/** The backends an SRV name's records name, weighted by them. */
export async function lookupSrv(
  resolver: Resolver,
  name: string,
  families: readonly Family[],
): Promise<DnsAnswer> {
  const records = await resolver.resolveSrv(name).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENODATA") return [];
    throw error;
  });
  // A target of "." says the service is not offered at this name (RFC 2782).
  const usable = records.filter((record) => record.name !== "" && record.name !== ".");
  const resolved = await Promise.all(
    usable.map(async (record) => ({
      record,
      ...(await addressesOf(resolver, record.name, families).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENOTFOUND") return { addresses: [], ttl: undefined };
        throw error;
      })),
    })),
  );
  const reachable = resolved.filter((target) => target.addresses.length > 0);
  const priority = Math.min(...reachable.map((target) => target.record.priority));
  const weights = new Map<string, number>();
  for (const { record, addresses } of reachable) {
    if (record.priority !== priority) continue;
    for (const address of addresses) {
      const id = formatHostPort(address, record.port);
      weights.set(id, (weights.get(id) ?? 0) + record.weight);
    }
  }
  return { backends: weightedBackends(weights), ttl: shortest(resolved.map((target) => target.ttl)) };
}

/** SRV weights as pool weights: all zero means equal shares; above MAX_WEIGHT they are scaled down. */
function weightedBackends(weights: ReadonlyMap<string, number>): BackendSpec[] {
  const highest = Math.max(0, ...weights.values());
  const scale = highest > MAX_WEIGHT ? MAX_WEIGHT / highest : 1;
  return [...weights].map(([address, weight]) => ({
    address,
    weight: highest === 0 ? 1 : weight * scale,
  }));
}

/** A name's addresses in the given families; an IP address stands for itself. */
async function addressesOf(
  resolver: Resolver,
  name: string,
  families: readonly Family[],
): Promise<Addresses> {
  const literal = isIP(name);
  if (literal !== 0) {
    const wanted = families.includes(literal === 4 ? "A" : "AAAA");
    return { addresses: wanted ? [name] : [], ttl: undefined };
  }
  const records = await Promise.all(
    families.map((family) =>
      (family === "A"
        ? resolver.resolve4(name, { ttl: true })
        : resolver.resolve6(name, { ttl: true })
      ).catch((error: NodeJS.ErrnoException) => {
        if (error.code === "ENODATA") return [];
        throw error;
      }),
    ),
  );
  const flat = records.flat();
  return { addresses: flat.map((record) => record.address), ttl: shortest(flat.map((record) => record.ttl)) };
}

function shortest(ttls: readonly (number | undefined)[]): number | undefined {
  const known = ttls.filter((ttl) => ttl !== undefined);
  return known.length === 0 ? undefined : Math.min(...known);
}
