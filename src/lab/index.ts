/** Load lab: discrete-event simulator, scenarios, comparison and reports. */
export {
  AGENT_AB_ALGORITHMS,
  type AgentAbBackend,
  type AgentAbOptions,
  type AgentAbResult,
  compareAgentAb,
  runAgentAb,
} from "./agent-ab.js";
export {
  algorithmLabel,
  allAlgorithms,
  type CompareOptions,
  compareAlgorithms,
  DEFAULT_SEED,
  parseAlgorithmList,
  type RunOptions,
  runScenario,
} from "./compare.js";
export { KeySampler, normalQuantile, ServiceTime, type ServiceTimeSpec } from "./distributions.js";
export { renderHtmlReport } from "./html-report.js";
export { loadReportAssets, type ReportAssets } from "./report-assets.js";
export type {
  BackendResult,
  LabEvent,
  LatencySummary,
  LatencyTimeline,
  SimulationResult,
} from "./run-results.js";
export {
  arrivalRateRps,
  type EpisodeSpec,
  getScenario,
  listScenarios,
  type ScenarioDefinition,
  type SimBackendSpec,
  startingCapacityRps,
  validateScenario,
} from "./scenarios.js";
export { type LabIo, type LabSimulateOptions, runLabSimulate } from "./simulate-command.js";
export { MAX_RETRIES, Simulation, type SimulationConfig, simulate } from "./simulator.js";
export { formatTable } from "./table.js";
