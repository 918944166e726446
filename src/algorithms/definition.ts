/**
 * What an algorithm is to the registry: a name, an options schema and a
 * factory, and the environment its selectors are built with (the injected
 * clock and randomness, plus the state some algorithms read that no backend
 * carries, such as the monitoring agents' figures, the transport of load
 * probes, or the shared client-location resolvers).
 */
import { z } from "zod";
import type { ProbeTransport } from "../core/probe.js";
import type { Selector, SelectorEnv } from "../core/selector.js";
import type { GeoResolvers } from "../geo/geo-resolvers.js";
import type { ResourceReportStore } from "../load/resource-reports.js";

/** What a selector is built with; the balancer gives every algorithm the same one. */
export interface AlgorithmEnv extends SelectorEnv {
  /**
   * The pool's agent-reported CPU, memory and network figures, read by the
   * metrics-driven algorithms (`metrics`, `hybrid`, `resource-aware`).
   * Absent, they have no figures and fall back as configured.
   */
  resourceReports?: ResourceReportStore;
  /**
   * How load probes reach the backends (`prequal`): HTTP in a balancer, the
   * simulation's events in the lab. Absent, `prequal` answers its own probes
   * from what it observes (in flight and latency per backend).
   */
  probes?: ProbeTransport;
  /**
   * Client-location resolvers by geo options (`geographical`, `geo-proximity`):
   * selectors with the same options share one, and its warm cache. The runtime
   * gives all its pools one set. Absent, each selector builds its own resolver.
   */
  geoResolvers?: GeoResolvers;
}

export interface AlgorithmDefinition<Options extends Record<string, unknown> = Record<string, unknown>> {
  name: string;
  /** Other accepted names (e.g. `p2c` for `power-of-two-choices`). */
  aliases?: readonly string[];
  /** One line for `switchyard algorithms`. */
  summary: string;
  /** Where the algorithm comes from (paper or system), for the listing. */
  reference?: string;
  /** Options schema; unknown keys are rejected. */
  options: z.ZodType<Options>;
  create(options: Options, env: AlgorithmEnv): Selector;
}

/** Options schema for an algorithm that takes none. */
export const noOptions = z.strictObject({});
