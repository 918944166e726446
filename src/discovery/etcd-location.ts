/**
 * Where pools live in etcd, as the config store (`configStore`) and etcd
 * discovery (`discovery.etcd`) both name it: client URLs and a key prefix,
 * checked by the same rules. No etcd client here, so the schemas that use
 * them load without etcd3.
 */
import { z } from "zod";

export const DEFAULT_ETCD_ENDPOINT = "http://127.0.0.1:2379";
export const DEFAULT_STORE_PREFIX = "/switchyard/";

const ETCD_ENDPOINT_EXPECTED = 'expected an etcd client URL "http://host:port" or "https://host:port"';

/** True for `http(s)://host:port` with nothing after the port. */
export function isEtcdEndpoint(text: string): boolean {
  try {
    const url = new URL(text);
    return /^https?:$/.test(url.protocol) && url.hostname !== "" && /^\/?$/.test(url.pathname + url.search);
  } catch {
    return false;
  }
}

/** etcd client URLs, at least one; default the local etcd. */
export const etcdEndpointsSchema = () =>
  z
    .array(
      z.string({ error: ETCD_ENDPOINT_EXPECTED }).refine(isEtcdEndpoint, { error: ETCD_ENDPOINT_EXPECTED }),
    )
    .min(1, { error: "expected at least one etcd endpoint" })
    .default([DEFAULT_ETCD_ENDPOINT])
    .describe('etcd client URLs "http(s)://host:port"');

export const storePrefixSchema = z
  .string({ error: 'expected a key prefix such as "/switchyard/"' })
  .regex(/^\S*\/$/, {
    error: 'expected a key prefix without spaces that ends in "/", such as "/switchyard/"',
  });
