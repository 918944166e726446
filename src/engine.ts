/**
 * `switchyard-lb/engine`: the embeddable routing engine alone — core types,
 * the algorithm registry and `createBalancer` (health checks, outlier
 * detection, breakers, affinity included), and `Discovery` to feed a pool
 * from DNS or a file. It loads neither the proxy, the
 * config loader (yaml, etcd3), the Prometheus exporter (prom-client), pino,
 * nor maxmind until a geo algorithm opens a database.
 */

export * from "./algorithms/registry.js";
export * from "./balancer/balancer.js";
export * from "./core/address.js";
export * from "./core/backend.js";
export * from "./core/context.js";
export * from "./core/decision.js";
export * from "./core/errors.js";
export * from "./core/outcome.js";
export * from "./core/pool.js";
export * from "./core/random.js";
export * from "./core/selector.js";
export { Discovery } from "./discovery/discovery.js";
export type {
  DiscoveryOptions,
  DnsDiscoveryOptions,
  EtcdDiscoveryOptions,
  FileDiscoveryOptions,
} from "./discovery/discovery-options.js";
export type { DiscoveryStats } from "./discovery/refresh-status.js";
