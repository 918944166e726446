/**
 * Algorithm registry: name → definition (options schema + factory), built
 * once from the built-in list (`builtin.ts`); `registerAlgorithm` adds a
 * library user's own. The CLI lists it, the config validates against it,
 * and `setAlgorithm` builds from it, so adding an algorithm is one file plus
 * one line in the built-in list.
 */
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import type { Selector } from "../core/selector.js";
import { BUILTIN_ALGORITHMS } from "./builtin.js";
import type { AlgorithmDefinition, AlgorithmEnv } from "./definition.js";
import { inputJsonSchema } from "./json-schema.js";

export { type AlgorithmDefinition, type AlgorithmEnv, noOptions } from "./definition.js";

/** An algorithm named alone, or with its options: `"p2c"` or `{ name: "p2c", ... }`. */
export type AlgorithmSpec = string | ({ name: string } & Record<string, unknown>);

/** Every built-in algorithm name and alias (registry.test.ts checks it against the registry). */
export const BUILTIN_ALGORITHM_NAMES = [
  ...["round-robin", "rr", "roundrobin", "weighted-round-robin", "wrr", "smooth-weighted-round-robin"],
  ...["random", "least-connections", "lc", "least-conn", "weighted-least-connections"],
  ...["power-of-two-choices", "p2c", "least-request", "least-latency", "ewma", "least-response-time"],
  ...["peak-ewma", "peak-ewma-p2c", "response-time", "rrt", "health-score", "hs"],
  ...["failure-weighted-round-robin", "hf-wrr", "fwrr", "adaptive", "alpha1", "tail-risk", "prequal"],
  ...["consistent-hash", "ring", "ketama", "bounded-load-consistent-hash", "chbl", "maglev", "ip-hash"],
  ...["beta1", "hrw-bounded", "metrics", "least-loaded", "metrics-based", "lease", "lease-based"],
  ...["hybrid", "lease-metrics", "resource-aware", "resource", "geo-proximity", "geo-nearest"],
  ...["geographical", "same-region", "geo-region"],
  // The ALPHA1/BETA1 balancer's underscore spellings.
  ...["round_robin", "least_connections", "weighted_round_robin", "response_time", "health_score"],
] as const;

/**
 * Names of algorithms added with `registerAlgorithm`, declared by the
 * library user: `declare module "switchyard-lb/engine" { interface RegisteredAlgorithms { mine: true } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface RegisteredAlgorithms {}

/** An algorithm name checked at compile time: a typo does not build. */
export type AlgorithmName = (typeof BUILTIN_ALGORITHM_NAMES)[number] | keyof RegisteredAlgorithms;

/** `AlgorithmSpec` with its name checked at compile time (the client dispatcher's option). */
export type KnownAlgorithmSpec = AlgorithmName | ({ name: AlgorithmName } & Record<string, unknown>);

const definitions = new Map<string, AlgorithmDefinition>();
const aliases = new Map<string, string>();
for (const definition of BUILTIN_ALGORITHMS) registerAlgorithm(definition);

export function registerAlgorithm<Options extends Record<string, unknown>>(
  definition: AlgorithmDefinition<Options>,
): void {
  const names = [definition.name, ...(definition.aliases ?? [])];
  for (const name of names) {
    if (definitions.has(name) || aliases.has(name)) throw new Error(`algorithm "${name}" registered twice`);
  }
  definitions.set(definition.name, definition as unknown as AlgorithmDefinition);
  for (const alias of definition.aliases ?? []) aliases.set(alias, definition.name);
}

export function findAlgorithm(name: string): AlgorithmDefinition | undefined {
  return definitions.get(aliases.get(name) ?? name);
}

export function listAlgorithms(): AlgorithmDefinition[] {
  return [...definitions.values()];
}

export function algorithmNames(): string[] {
  return [...definitions.keys(), ...aliases.keys()];
}

/** Splits a spec into its definition and validated options; throws coded errors. */
export function resolveAlgorithm(spec: AlgorithmSpec): {
  definition: AlgorithmDefinition;
  options: Record<string, unknown>;
} {
  const { name, ...raw } = typeof spec === "string" ? { name: spec } : spec;
  const definition = findAlgorithm(name);
  if (!definition) {
    throw new SwitchyardError(
      ErrorCodes.UNKNOWN_ALGORITHM,
      `unknown algorithm "${name}"; expected one of: ${algorithmNames().join(", ")}`,
      { name },
    );
  }
  const parsed = definition.options.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join(".") || "(options)"}: ${issue.message}`,
    );
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `invalid options for algorithm "${definition.name}": ${problems.join("; ")}`,
      { name: definition.name, issues: parsed.error.issues },
    );
  }
  return { definition, options: parsed.data };
}

export function createSelector(spec: AlgorithmSpec, env: AlgorithmEnv): Selector {
  const { definition, options } = resolveAlgorithm(spec);
  return definition.create(options, env);
}

/** JSON Schema of an algorithm's options, for listings and the admin API. */
export function describeOptions(definition: AlgorithmDefinition): Record<string, unknown> {
  return inputJsonSchema(definition.options);
}
