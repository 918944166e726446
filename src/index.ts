/**
 * Package root: the library API. The embeddable routing engine (core and the
 * algorithm registry), the proxies and the runtime that runs them from a
 * config, the config loader, the demo backend, and the load lab. Everything
 * beyond the core is listed by name: the surface stays deliberate, and a name
 * added later to one of those modules cannot collide with the core's.
 */

export * from "./algorithms/registry.js";
export * from "./balancer/balancer.js";
export type { ConfigIssue, ConfigIssueKind } from "./config/errors.js";
export {
  type ConfigFlags,
  type ConfigSource,
  loadConfigFile,
  type ParseOptions,
  parseConfig,
  type ResolveOptions,
  readConfigSource,
  resolveConfig,
} from "./config/load.js";
export type {
  BackendConfig,
  ConfigInput,
  ListenerConfig,
  PoolConfig,
  SwitchyardConfig,
} from "./config/schema.js";
export * from "./core/address.js";
export * from "./core/backend.js";
export * from "./core/context.js";
export * from "./core/decision.js";
export * from "./core/errors.js";
export * from "./core/outcome.js";
export * from "./core/pool.js";
export * from "./core/random.js";
export * from "./core/selector.js";
export { DemoBackend, type DemoBackendOptions } from "./demo/backend-server.js";
export {
  crc32,
  djb2,
  fnv1a,
  type HashFunction,
  type HashFunctionName,
  hashFunctions,
  md5,
  xxhash,
} from "./hashing/hash-functions.js";
export type { HashKeyConfig, HashKeyFunction, HashKeyOption } from "./hashing/hash-key.js";
export { MaglevTable } from "./hashing/maglev.js";
export { rendezvousScore } from "./hashing/rendezvous.js";
export { HashRing, type RingMember } from "./hashing/ring.js";
export {
  AGENT_AB_ALGORITHMS,
  type AgentAbBackend,
  type AgentAbOptions,
  type AgentAbResult,
  type CompareOptions,
  compareAgentAb,
  compareAlgorithms,
  formatTable,
  getScenario,
  type LabSimulateOptions,
  listScenarios,
  type RunOptions,
  renderHtmlReport,
  runAgentAb,
  runLabSimulate,
  runScenario,
  type ScenarioDefinition,
  type SimulationResult,
} from "./lab/index.js";
export type { Logger } from "./observability/logger.js";
export {
  DEFAULT_PROXY_TIMEOUTS,
  HttpProxy,
  type HttpProxyOptions,
  type ProxyTimeouts,
} from "./proxy/http-proxy.js";
export { TcpProxy, type TcpProxyOptions } from "./proxy/tcp-proxy.js";
export {
  ListenError,
  type Runtime,
  type RuntimeListener,
  type StartOptions,
  startSwitchyard,
} from "./runtime.js";
