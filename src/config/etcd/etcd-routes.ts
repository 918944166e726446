/**
 * Writing a listener's route list in etcd (layout in etcd-route-keys.ts), as
 * `config push` does: the list replaces what is stored, or, when the pushed
 * file gives the listener no routes, the stored list is deleted so every
 * instance falls back to its own file's routes. A list equal to the stored
 * one is not written again.
 */
import { isDeepStrictEqual } from "node:util";
import type { Etcd3 } from "etcd3";
import { parseJsonOrUndefined } from "../../core/parse-json.js";
import { toStoreError } from "../../discovery/etcd-client.js";
import type { StoreLocation } from "../../discovery/etcd-pool-reads.js";
import { routesKey } from "./etcd-route-keys.js";

export interface RoutesWrite {
  /** The etcd revision holding the routes as written (the read's when nothing changed). */
  revision: number;
  /** pushed: written; deleted: a stored list removed; unchanged: already as asked; absent: none stored, none given. */
  outcome: "pushed" | "deleted" | "unchanged" | "absent";
}

/** Stores `routes` as listener `name`'s route list, or deletes the stored list when `routes` is undefined. */
export async function replaceRoutes(
  client: Etcd3,
  location: StoreLocation,
  name: string,
  routes: unknown[] | undefined,
): Promise<RoutesWrite> {
  const key = routesKey(location.prefix, name);
  const failed = (error: unknown) => {
    throw toStoreError(error, location, `writing the routes of listener "${name}"`);
  };
  const read = await client.get(key).exec().catch(failed);
  const stored = read.kvs[0]?.value.toString();
  const revision = Number(read.header.revision);
  if (routes === undefined) {
    if (stored === undefined) return { revision, outcome: "absent" };
    const deleted = await client.delete().key(key).exec().catch(failed);
    return { revision: Number(deleted.header.revision), outcome: "deleted" };
  }
  if (stored !== undefined && isDeepStrictEqual(parseJsonOrUndefined(stored), routes)) {
    return { revision, outcome: "unchanged" };
  }
  const put = await client.put(key).value(JSON.stringify(routes)).exec().catch(failed);
  return { revision: Number(put.header.revision), outcome: "pushed" };
}
