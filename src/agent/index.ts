/** The monitoring agent (sampler, sources, HTTP server) and the balancer-side poller. */
export {
  type AgentsOptions,
  type AgentTarget,
  agentEndpoint,
  agentsSchema,
  agentTargetSchema,
} from "./agent-options.js";
export { AgentReportError, type ParsedReport, parseAgentReport } from "./agent-report.js";
export { AgentServer, type AgentServerOptions, DEFAULT_AGENT_PORT } from "./agent-server.js";
export { type CgroupLayout, detectCgroupLayout } from "./cgroup-layout.js";
export { CgroupSource, type CgroupSourceOptions } from "./cgroup-source.js";
export { type AgentEntry, combine, compileMatch, type EntryMatcher } from "./match.js";
export { AgentPoller, type AgentPollerOptions, type AgentPollerStats, type AgentStats } from "./poller.js";
export { type PoolAgents, startPoolAgents } from "./pool-agents.js";
export { ProcessSource, type ProcessSourceOptions } from "./process-source.js";
export {
  type ContainerMetrics,
  type ContainersReport,
  type RawEntry,
  Sampler,
  type SamplerOptions,
  type SamplerStatus,
  type SampleSource,
} from "./sampler.js";
