import { describe, expect, it } from "vitest";
import {
  type AlgorithmName,
  algorithmNames,
  BUILTIN_ALGORITHM_NAMES,
  describeOptions,
  findAlgorithm,
  type KnownAlgorithmSpec,
  listAlgorithms,
  resolveAlgorithm,
} from "./registry.js";

describe("algorithm registry", () => {
  it("lists the built-in algorithms", () => {
    expect(listAlgorithms().map((definition) => definition.name)).toEqual(
      expect.arrayContaining([
        "round-robin",
        "weighted-round-robin",
        "random",
        "least-connections",
        "power-of-two-choices",
      ]),
    );
  });

  it("types every built-in name and alias, so a typo fails to compile", () => {
    expect([...BUILTIN_ALGORITHM_NAMES].sort()).toEqual(algorithmNames().sort());
    const name: AlgorithmName = "p2c";
    const spec: KnownAlgorithmSpec = { name: "alpha1", hedge: { minDelayMs: 20 } };
    // @ts-expect-error "round-robbin" is not an algorithm name
    const typo: AlgorithmName = "round-robbin";
    expect([name, spec.name, typo].map((n) => findAlgorithm(n) !== undefined)).toEqual([true, true, false]);
  });

  it("resolves aliases", () => {
    expect(findAlgorithm("p2c")?.name).toBe("power-of-two-choices");
    expect(findAlgorithm("wrr")?.name).toBe("weighted-round-robin");
  });

  it("accepts the ALPHA1/BETA1 balancer's underscore names", () => {
    expect(findAlgorithm("round_robin")?.name).toBe("round-robin");
    expect(findAlgorithm("least_connections")?.name).toBe("least-connections");
    expect(findAlgorithm("health_score")?.name).toBe("health-score");
    expect(findAlgorithm("response_time")?.name).toBe("response-time");
    // Its weighted round-robin is HF-WRR, weights cut by failures, not smooth WRR.
    expect(findAlgorithm("weighted_round_robin")?.name).toBe("failure-weighted-round-robin");
    expect(findAlgorithm("alpha1")?.name).toBe("alpha1");
    expect(findAlgorithm("beta1")?.name).toBe("beta1");
  });

  it("validates options and fills defaults", () => {
    expect(resolveAlgorithm({ name: "random" }).options).toEqual({ weighted: true });
    expect(() => resolveAlgorithm({ name: "round-robin", weighted: true })).toThrowError(
      expect.objectContaining({ code: "SY_ERR_INVALID_OPTIONS" }),
    );
  });

  it("names the known algorithms when one is unknown", () => {
    expect(() => resolveAlgorithm("round-robbin")).toThrow(/unknown algorithm "round-robbin".*round-robin/);
  });

  it("describes options as JSON Schema", () => {
    const schema = describeOptions(findAlgorithm("random") as NonNullable<ReturnType<typeof findAlgorithm>>);
    expect(schema).toMatchObject({ properties: { weighted: { type: "boolean", default: true } } });
  });
});
