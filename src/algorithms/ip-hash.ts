/**
 * IP hash (DWCP's sixth algorithm; nginx `ip_hash`): the client IP decides
 * the backend, so a client keeps reaching the same one without cookies.
 *
 * Built on the consistent-hash ring rather than `hash mod N`: with modulo,
 * removing one of N backends re-routes nearly every client ((N−1)/N of them);
 * on the ring only the removed backend's clients move (about 1/N), and a
 * client whose backend is down fails over to the next backend clockwise and
 * comes back when it recovers. IPv4-mapped IPv6 addresses hash as their IPv4
 * form, so a dual-stack listener does not split a client in two. A request
 * without a client IP takes the next step of a rotation instead.
 */
import { z } from "zod";
import {
  ConsistentHashSelector,
  hashFunctionOption,
  probesOption,
  virtualNodesOption,
} from "./consistent-hash.js";
import type { AlgorithmDefinition } from "./definition.js";

export const ipHashOptions = z.strictObject({
  hashFunction: hashFunctionOption,
  virtualNodes: virtualNodesOption,
  probes: probesOption,
});

export class IpHashSelector extends ConsistentHashSelector {
  constructor(options: z.output<typeof ipHashOptions>) {
    super({ ...options, hashKey: { source: "client-ip" } }, "ip-hash");
  }
}

export const ipHash: AlgorithmDefinition<z.output<typeof ipHashOptions>> = {
  name: "ip-hash",
  summary: "Client IP → backend on a consistent-hash ring; removals move only that backend's clients.",
  reference: "DWCP (IP hash); nginx ip_hash, on a ketama ring",
  options: ipHashOptions,
  create: (options) => new IpHashSelector(options),
};
