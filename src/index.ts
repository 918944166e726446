/**
 * Package root: the library API. The embeddable routing engine (core and the
 * algorithm registry), the proxies and the runtime that runs them from a
 * config, the config loader, the demo backend, and the load lab. Everything
 * beyond the core is listed by name: the surface stays deliberate, and a name
 * added later to one of those modules cannot collide with the core's.
 */

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
export { DemoBackend, type DemoBackendOptions } from "./demo/backend-server.js";
// The engine (registry, balancer, core types) is the base of the full package.
export * from "./engine.js";
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
  loadReportAssets,
  type ReportAssets,
  type RunOptions,
  renderHtmlReport,
  runAgentAb,
  runLabSimulate,
  runScenario,
  type ScenarioDefinition,
  type SimulationResult,
} from "./lab/index.js";
export { ProbeResponder } from "./load/probe-responder.js";
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
