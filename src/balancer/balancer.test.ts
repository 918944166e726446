import { describe, expect, it } from "vitest";
import { HEDGE_CANCELLED } from "../core/outcome.js";
import { seededRandom } from "../core/random.js";
import { GeoResolvers } from "../geo/geo-resolvers.js";
import { ResourceReportStore } from "../load/resource-reports.js";
import { Balancer, createBalancer } from "./balancer.js";

const three = [
  { id: "a", address: "127.0.0.1:9001" },
  { id: "b", address: "127.0.0.1:9002" },
  { id: "c", address: "127.0.0.1:9003" },
];

describe("Balancer", () => {
  it("checks the algorithm's name when the program builds (createBalancer) and when it runs (any name)", () => {
    const backends = [{ address: "127.0.0.1:1" }];
    // @ts-expect-error a typo in a literal algorithm name does not build (tsc --noEmit runs in npm test)
    expect(() => createBalancer({ backends, algorithm: "round-robbin" })).toThrow(
      /unknown algorithm "round-robbin"/,
    );
    expect(createBalancer({ backends, algorithm: { name: "p2c" } }).algorithm).toBe("power-of-two-choices");
    // A name from a config file is a plain string: Balancer takes it and checks it on construction.
    const fromConfig: string = "round-robbin";
    expect(() => new Balancer({ backends, algorithm: fromConfig })).toThrow(/unknown algorithm/);
  });

  it("selects with round-robin by default and reports the decision", () => {
    const balancer = createBalancer({ backends: three });
    const decision = balancer.select({ method: "GET", path: "/" });
    expect(decision.algorithm).toBe("round-robin");
    expect(decision.backend.id).toBe("a");
    expect(decision.selectionNs).toBeGreaterThanOrEqual(0);
    expect(decision.backend.inFlight).toBe(1);
    balancer.report(decision, { status: 200, latencyMs: 12 });
    expect(decision.backend.inFlight).toBe(0);
    expect(decision.backend.ewmaLatencyMs).toBe(12);
    balancer.report(decision, { status: 200, latencyMs: 12 });
    expect(balancer.stats()).toMatchObject({
      algorithm: "round-robin",
      decisions: 1,
      requests: 1,
      errors: 0,
    });
  });

  it("counts errors from transport failures and 5xx, and keeps a latency EWMA (alpha 0.2)", () => {
    const balancer = createBalancer({ backends: [three[0] as (typeof three)[0]] });
    balancer.report(balancer.select({}), { status: 200, latencyMs: 10 });
    balancer.report(balancer.select({}), { status: 503, latencyMs: 20 });
    balancer.report(balancer.select({}), { error: "ECONNRESET" });
    const [backend] = balancer.stats().backends;
    expect(backend).toMatchObject({ requests: 3, errors: 2, inFlight: 0, ewmaLatencyMs: 12 });
  });

  it("times each failover from the request's first pick, and counts backends passing their checks", async () => {
    const balancer = createBalancer({ backends: three });
    const decision = balancer.select({});
    await new Promise((resolve) => setTimeout(resolve, 30));
    decision.finish({ error: "ECONNREFUSED" });
    decision.next();
    decision.finish({ status: 200, latencyMs: 1 });
    balancer.report(balancer.select({}), { status: 200, latencyMs: 1 });
    balancer.pool.setState("c", "unhealthy");
    const stats = balancer.stats();
    expect(stats.failovers).toBe(1);
    expect(stats.meanFailoverMs).toBeGreaterThanOrEqual(25);
    expect(stats.meanFailoverMs).toBe(stats.failoverMsTotal);
    expect(stats).toMatchObject({ healthyBackends: 2, unhealthyBackends: 1 });
  });

  it("throws SY_ERR_NO_BACKEND when nothing is ready, and counts it", () => {
    const balancer = createBalancer({ backends: three });
    for (const { id } of three) balancer.pool.disable(id);
    expect(() => balancer.select({})).toThrowError(expect.objectContaining({ code: "SY_ERR_NO_BACKEND" }));
    expect(balancer.stats().noBackend).toBe(1);
  });

  it("routes anyway in panic mode when nothing is ready, but never to disabled or draining backends", () => {
    const balancer = createBalancer({ backends: three, panic: true });
    balancer.pool.disable("a");
    balancer.pool.setState("b", "draining");
    balancer.pool.disable("c");
    expect(() => balancer.select({})).toThrowError(expect.objectContaining({ code: "SY_ERR_NO_BACKEND" }));
    for (const id of ["a", "c"]) {
      balancer.pool.enable(id);
      balancer.pool.setState(id, "unhealthy");
    }
    const ids = Array.from({ length: 4 }, () => balancer.select({}).backend.id);
    expect(new Set(ids)).toEqual(new Set(["a", "c"]));
    expect(balancer.stats()).toMatchObject({ panicRouted: 4, noBackend: 1 });
    balancer.pool.setState("c", "healthy");
    expect(balancer.select({}).backend.id).toBe("c");
    expect(balancer.stats().panicRouted).toBe(4);
  });

  it("walks candidates in preference order for failover", () => {
    const balancer = createBalancer({ backends: three });
    const decision = balancer.select({});
    const seen = [...decision.candidates()].map((backend) => backend.id);
    expect(seen).toEqual(["a", "b", "c"]);
    expect(decision.attempts.map((backend) => backend.id)).toEqual(["a", "b", "c"]);
    // Asking past the last candidate means every attempt failed: all are closed as errors.
    expect(balancer.stats()).toMatchObject({ failovers: 2, errors: 3, inFlight: 0 });
    expect(decision.open).toBe(false);
  });

  it("hedges onto the next candidate while the first attempt stays open", () => {
    const balancer = createBalancer({ backends: three });
    const first = balancer.select({});
    const hedge = first.hedge();
    expect(hedge?.backend.id).toBe("b");
    expect(first.open).toBe(true);
    expect(balancer.stats()).toMatchObject({ hedges: 1, failovers: 0, inFlight: 2 });
    // The two attempts share their tried list: failing over from either skips both.
    expect(hedge?.next()?.id).toBe("c");
    expect(first.next()).toBeUndefined();
    expect(balancer.stats().inFlight).toBe(1);
  });

  it("does not hold a cancelled hedge against its backend", () => {
    const balancer = createBalancer({ backends: three });
    const first = balancer.select({});
    const hedge = first.hedge();
    hedge?.finish({ status: 200, latencyMs: 3 });
    first.finish({ error: HEDGE_CANCELLED });
    expect(balancer.stats()).toMatchObject({ requests: 1, errors: 0, inFlight: 0 });
    expect(first.backend).toMatchObject({ errors: 0, inFlight: 0, requests: 0 });
  });

  it("gives its algorithms its own metrics store, so pools sharing backend ids stay apart", () => {
    const one = createBalancer({ backends: [{ id: "web", address: "127.0.0.1:1" }], algorithm: "metrics" });
    const store = new ResourceReportStore();
    const two = createBalancer({
      backends: [{ id: "web", address: "127.0.0.1:2" }],
      algorithm: "metrics",
      resourceReports: store,
    });
    expect(two.env.resourceReports).toBe(store);
    expect(one.env.resourceReports).not.toBe(store);
    one.env.resourceReports.write("web", { cpu: 1, memory: 0, network: 0 });
    store.write("web", { cpu: 2, memory: 0, network: 0 });
    expect(one.select({}).explain().reason).toMatch(/cpu 1%/);
    expect(two.select({}).explain().reason).toMatch(/cpu 2%/);
    one.setAlgorithm("hybrid");
    expect(one.select({}).explain().reason).toMatch(/cpu 1%/);
  });

  it("shares client-location resolvers only with balancers given the same set", () => {
    const geo = { database: false as const, cidrRegions: [{ cidr: "10.0.0.0/8", region: "eu" }] };
    const algorithm = { name: "geographical" as const, geo };
    const backends = [{ id: "eu", address: "127.0.0.1:1", region: "eu" }];
    const geoResolvers = new GeoResolvers();
    const one = createBalancer({ backends, algorithm, geoResolvers });
    const two = createBalancer({ backends, algorithm, geoResolvers });
    const apart = createBalancer({ backends, algorithm });
    const shared = geoResolvers.get(geo);
    expect(one.select({ clientIp: "10.1.2.3" }).backend.id).toBe("eu");
    expect(shared.cacheStats()).toMatchObject({ hits: 0, misses: 1 });
    // The second pool finds the first one's lookup already cached.
    two.select({ clientIp: "10.1.2.3" });
    expect(shared.cacheStats()).toMatchObject({ hits: 1, misses: 1 });
    apart.select({ clientIp: "10.1.2.3" });
    expect(shared.cacheStats()).toMatchObject({ hits: 1, misses: 1 });
    expect(apart.env.geoResolvers.get(geo)).not.toBe(shared);
    expect(apart.env.geoResolvers.get(geo).cacheStats()).toMatchObject({ hits: 0, misses: 1 });
  });

  it("exposes the algorithm's own metrics when it keeps any", () => {
    const balancer = createBalancer({ backends: three });
    expect(balancer.algorithmMetrics()).toBeUndefined();
    balancer.setAlgorithm("beta1");
    expect(balancer.algorithmMetrics()).toMatchObject({ cacheHitRate: expect.any(Number) });
  });

  it("never offers an unhealthy or draining backend as a candidate", () => {
    const balancer = createBalancer({ backends: three });
    balancer.pool.setState("b", "unhealthy");
    balancer.pool.setState("c", "draining");
    const decision = balancer.select({});
    expect(decision.backend.id).toBe("a");
    expect(decision.next()).toBeUndefined();
  });

  it("switches algorithm at runtime while attempts are in flight", () => {
    const balancer = createBalancer({ backends: three, random: seededRandom(1) });
    const inFlight = balancer.select({});
    balancer.setAlgorithm("least-connections");
    expect(balancer.algorithm).toBe("least-connections");
    // The open attempt still counts: least-connections avoids it.
    expect(balancer.select({}).backend).not.toBe(inFlight.backend);
    balancer.report(inFlight, { status: 200, latencyMs: 1 });
    expect(inFlight.backend.inFlight).toBe(0);
    expect(() => balancer.setAlgorithm("nope")).toThrowError(
      expect.objectContaining({ code: "SY_ERR_UNKNOWN_ALGORITHM" }),
    );
    expect(balancer.algorithm).toBe("least-connections");
  });

  it("accepts algorithm options and rejects bad ones", () => {
    const balancer = createBalancer({ backends: three, algorithm: { name: "random", weighted: false } });
    expect(balancer.algorithm).toBe("random");
    expect(() => balancer.setAlgorithm({ name: "random", weighted: "yes" })).toThrow(/weighted/);
  });

  it("explains a decision with the candidates' scores", () => {
    const balancer = createBalancer({ backends: three, algorithm: "least-connections" });
    const first = balancer.select({});
    const second = balancer.select({});
    const explanation = second.explain();
    expect(explanation).toMatchObject({ algorithm: "least-connections", backend: second.backend.id });
    expect(explanation.reason).toMatch(/least in flight/);
    const scores = Object.fromEntries(explanation.candidates.map((c) => [c.id, c.score]));
    expect(scores[first.backend.id]).toBe(2);
    expect(explanation.candidates).toHaveLength(3);
  });

  it("follows pool changes made after it was created", async () => {
    const balancer = createBalancer({ backends: three });
    await balancer.pool.remove("a");
    balancer.pool.add({ id: "d", address: "127.0.0.1:9004" });
    const ids = Array.from({ length: 3 }, () => {
      const decision = balancer.select({});
      decision.finish({ status: 200 });
      return decision.backend.id;
    });
    expect(new Set(ids)).toEqual(new Set(["b", "c", "d"]));
  });

  it("stops following the pool after stop() and resumes after start()", async () => {
    const balancer = createBalancer({ backends: three });
    await balancer.stop();
    balancer.pool.add({ id: "d", address: "127.0.0.1:9004" });
    const before = Array.from({ length: 4 }, () => balancer.select({}).backend.id);
    expect(before).not.toContain("d");
    balancer.start();
    const after = Array.from({ length: 4 }, () => balancer.select({}).backend.id);
    expect(after).toContain("d");
  });
});
