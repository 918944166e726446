/**
 * `switchyard-lb/dispatcher`: client-side balancing for undici and fetch
 * (`BalancedDispatcher`), with the engine's types it takes. As light as
 * `switchyard-lb/engine`: no pino, prom-client, maxmind, yaml or etcd3.
 */

export type { AlgorithmName, KnownAlgorithmSpec, RegisteredAlgorithms } from "./algorithms/registry.js";
export type { Balancer, BalancerStats } from "./balancer/balancer.js";
export * from "./client/index.js";
export type { BackendSpec } from "./core/backend.js";
export { ErrorCodes, isSwitchyardError, SwitchyardError } from "./core/errors.js";
export type {
  DiscoveryOptions,
  DnsDiscoveryOptions,
  EtcdDiscoveryOptions,
  FileDiscoveryOptions,
} from "./discovery/discovery-options.js";
export type { DiscoveryStats } from "./discovery/refresh-status.js";
