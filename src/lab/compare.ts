/**
 * Running scenarios: one algorithm (`runScenario`) or several on the same
 * workload (`compareAlgorithms`: same seed, so the same arrivals, keys and
 * request sizes for every algorithm). "all" means every algorithm in the
 * registry, so algorithms added later are compared without touching the lab.
 */
import { type AlgorithmSpec, findAlgorithm, listAlgorithms } from "../algorithms/registry.js";
import type { SimulationResult } from "./run-results.js";
import { getScenario, type ScenarioDefinition, validateScenario } from "./scenarios.js";
import { simulate } from "./simulator.js";

export interface RunOptions {
  /** Requests to simulate; default the scenario's `defaultRequests`. */
  requests?: number;
  /** Seed of every random stream; default 1. */
  seed?: number;
  /** Keep per-backend dispatch times in `result.routing` (memory grows with requests). */
  recordRouting?: boolean;
  /** Buckets of the latency timeline; default 40. */
  timelineBuckets?: number;
}

export interface CompareOptions extends RunOptions {
  /**
   * Called for an algorithm that cannot run (unknown, needs options it was not
   * given, or threw); it is left out of the results. Without it, the error is thrown.
   */
  onSkip?: (algorithm: string, error: Error) => void;
  /** Called before each algorithm's run: its label, its place (0-based) and how many there are. */
  onRun?: (algorithm: string, index: number, count: number) => void;
}

export const DEFAULT_SEED = 1;

/** Simulates `scenario` (a built-in name or a definition) under one algorithm. */
export function runScenario(
  scenario: string | ScenarioDefinition,
  algorithm: AlgorithmSpec,
  options: RunOptions = {},
): SimulationResult {
  const definition = typeof scenario === "string" ? getScenario(scenario) : scenario;
  validateScenario(definition);
  return simulate({
    scenario: definition,
    algorithm,
    label: algorithmLabel(algorithm),
    requests: options.requests ?? definition.defaultRequests,
    seed: options.seed ?? DEFAULT_SEED,
    recordRouting: options.recordRouting,
    timelineBuckets: options.timelineBuckets,
  });
}

/** Runs every algorithm on the same workload, in the order given. */
export function compareAlgorithms(
  scenario: string | ScenarioDefinition,
  algorithms: readonly AlgorithmSpec[] | "all",
  options: CompareOptions = {},
): SimulationResult[] {
  const specs = algorithms === "all" ? allAlgorithms() : algorithms;
  const results: SimulationResult[] = [];
  for (const [index, spec] of specs.entries()) {
    options.onRun?.(algorithmLabel(spec), index, specs.length);
    if (!options.onSkip) {
      results.push(runScenario(scenario, spec, options));
      continue;
    }
    try {
      results.push(runScenario(scenario, spec, options));
    } catch (error) {
      options.onSkip(algorithmLabel(spec), error as Error);
    }
  }
  return results;
}

/** Every registered algorithm by canonical name, in registration order. */
export function allAlgorithms(): string[] {
  return listAlgorithms().map((definition) => definition.name);
}

/** Parses a CLI list: "all", or names separated by commas (aliases allowed, duplicates dropped). */
export function parseAlgorithmList(list: string): string[] {
  const trimmed = list.trim();
  if (trimmed === "all" || trimmed === "") return allAlgorithms();
  const names = trimmed
    .split(",")
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  return [...new Set(names)];
}

/** Canonical name, with options when given: `peak-ewma(decayMs=5000)`. */
export function algorithmLabel(spec: AlgorithmSpec): string {
  const { name, ...options } = typeof spec === "string" ? { name: spec } : spec;
  const canonical = findAlgorithm(name)?.name ?? name;
  const entries = Object.entries(options);
  if (entries.length === 0) return canonical;
  return `${canonical}(${entries.map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`).join(",")})`;
}
