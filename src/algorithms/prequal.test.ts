import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import type { ProbeMiss, ProbeReply, ProbeTransport } from "../core/probe.js";
import { seededRandom } from "../core/random.js";
import { acceptReady, acceptUntried } from "../core/selector.js";
import type { AlgorithmEnv } from "./definition.js";
import { type PrequalSelector, prequal } from "./prequal.js";
import { follow, makePool, runSelectorSuite } from "./selector.case.js";

const create = (env: AlgorithmEnv, options: Record<string, unknown> = {}) =>
  prequal.create(prequal.options.parse(options), env) as PrequalSelector;

// Without a transport every probe is answered from the balancer's own view.
runSelectorSuite("prequal", { create: (env) => create(env), weighted: false });

/** A transport that holds probes until the test answers them. */
function heldProbes(maxInFlight?: number) {
  const sent: { backend: Backend; path: string; done: (reply: ProbeReply | ProbeMiss) => void }[] = [];
  const transport: ProbeTransport = {
    probe: (backend, request, done) => sent.push({ backend, path: request.path, done }),
    maxInFlight,
  };
  /** Answers every probe sent so far from `replies` (by backend id; missing: `miss`). */
  const answer = (replies: Record<string, ProbeReply>, miss: ProbeMiss = "unsupported") => {
    for (const { backend, done } of sent.splice(0)) done(replies[backend.id] ?? miss);
  };
  return { transport, sent, answer };
}

function setup(options: Record<string, unknown> = {}, backends = 4, maxInFlight?: number) {
  let now = 0;
  const probes = heldProbes(maxInFlight);
  const env: AlgorithmEnv = { random: seededRandom(3), now: () => now, probes: probes.transport };
  const pool = makePool(backends);
  const selector = follow(pool, create(env, options)) as PrequalSelector;
  // Each backend's first probe went out as it turned up; held apart, so the tests count from the first request.
  const startup = probes.sent.splice(0);
  return { ...probes, startup, selector, backends: pool.backends, advance: (ms: number) => (now += ms) };
}

const reply: ProbeReply = { rif: 1, latencyMs: 5 };

describe("prequal", () => {
  it("sends probesPerRequest probes to distinct backends with each request, on the probe path", () => {
    const { selector, sent } = setup({ probesPerRequest: 3, probePath: "/load" });
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((probe) => probe.backend)).size).toBe(3);
    expect(sent.every((probe) => probe.path === "/load")).toBe(true);
  });

  it("without a transport limit, sends every probe owed", () => {
    const { selector, sent } = setup({ probesPerRequest: 4 });
    selector.pick({}, acceptReady);
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(8);
  });

  it("weighs backends without a probe by its own view: the leftover slow probe does not win by default", () => {
    const { selector, answer, backends } = setup({ probesPerRequest: 4, maxReuse: 1 }, 2);
    const [fast, slow] = backends as [Backend, Backend];
    selector.pick({}, acceptReady);
    answer({ b0: { rif: 0, latencyMs: 10 }, b1: { rif: 0, latencyMs: 50 } });
    selector.observe(fast, { status: 200, latencyMs: 10 });
    // The fast probe wins and is used up; the slow backend's probe is all the pool holds.
    expect(selector.pick({}, acceptReady)).toBe(fast);
    expect(selector.pool.probes().map((probe) => probe.backend)).toEqual([slow]);
    // The fast backend, seen here at 10 ms with nothing in flight, competes and wins.
    expect(selector.pick({}, acceptReady)).toBe(fast);
    expect(selector.describe(fast)).toMatch(/no probe in the pool, as seen here/);
  });

  it("sends a fractional rate in whole probes: 0.5 is one every other request", () => {
    const { selector, sent, answer } = setup({ probesPerRequest: 0.5 });
    let total = 0;
    for (let i = 0; i < 10; i++) {
      selector.pick({}, acceptReady);
      total += sent.length;
      answer({ b0: reply, b1: reply, b2: reply, b3: reply });
    }
    expect(total).toBe(5);
  });

  it("keeps no more probes on the wire per backend than the transport carries at once", () => {
    const { selector, sent, answer, startup } = setup({ probesPerRequest: 4 }, 4, 1);
    for (const { done } of startup) done(reply);
    selector.pick({}, acceptReady);
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(4);
    answer({ b0: reply, b1: reply, b2: reply, b3: reply });
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(4);
    expect(selector.figures()).toMatchObject({ probesSent: 12, probesMissed: 0 });
  });

  it("backs off a backend that does not answer in time, doubling from the probe timeout, until it answers", () => {
    const { selector, sent, answer, backends, advance } = setup(
      {
        probesPerRequest: 1,
        probeTimeoutMs: 100,
        fallbackMs: 10_000,
      },
      1,
    );
    const [b0] = backends as [Backend];
    const probed = () => {
      selector.pick({}, acceptReady);
      const count = sent.length;
      answer({}, "unanswered");
      return count;
    };
    expect(probed()).toBe(1); // missed: answered locally for 100 ms
    advance(99);
    expect(probed()).toBe(0);
    advance(1);
    expect(probed()).toBe(1); // second miss in a row: 200 ms
    advance(199);
    expect(probed()).toBe(0);
    advance(1);
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(1);
    answer({ b0: reply });
    expect(selector.pool.probes().find((probe) => probe.backend === b0)).toMatchObject({ rif: 1 });
    // The reply cleared the count: the next probe goes out at once.
    expect(probed()).toBe(1);
    // Five sent: the first when b0 turned up, then four.
    expect(selector.figures()).toMatchObject({ probesSent: 5, probesMissed: 3 });
  });

  it("counts the probes a stall timed out together as one miss, not several in a row", () => {
    const { selector, sent, answer, startup, advance } = setup(
      { probesPerRequest: 1, probeTimeoutMs: 100, fallbackMs: 10_000 },
      1,
    );
    for (const { done } of startup) done(reply);
    for (let i = 0; i < 4; i++) selector.pick({}, acceptReady);
    expect(sent).toHaveLength(4);
    // All four time out at once: one backoff of the probe timeout, not 800 ms.
    answer({}, "unanswered");
    advance(99);
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(0);
    advance(1);
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(1);
    // A miss after the backoff ran out is the next in a row: 200 ms.
    answer({}, "unanswered");
    advance(199);
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(0);
    advance(1);
    selector.pick({}, acceptReady);
    expect(sent).toHaveLength(1);
    expect(selector.figures()).toMatchObject({ probesSent: 7, probesMissed: 5 });
  });

  it("does not probe again for a failover pick", () => {
    const { selector, sent, backends } = setup({ probesPerRequest: 1 });
    const first = selector.pick({}, acceptReady) as Backend;
    selector.pick({}, acceptUntried([first]), [first]);
    expect(sent).toHaveLength(1);
    expect(backends).toContain(first);
  });

  it("routes by the replies once they arrive: lowest latency among the cold", () => {
    const { selector, answer } = setup({ probesPerRequest: 4, maxReuse: 1 });
    selector.pick({}, acceptReady);
    answer({
      b0: { rif: 2, latencyMs: 40 },
      b1: { rif: 3, latencyMs: 8 },
      b2: { rif: 30, latencyMs: 1 },
      b3: { rif: 1, latencyMs: 20 },
    });
    // b2 is hot; of the rest b1 answers fastest.
    expect(selector.pick({}, acceptReady)?.id).toBe("b1");
    expect(selector.describe(selector.pool.probes()[0]?.backend as Backend)).toBeTypeOf("string");
  });

  it("falls back to its own view of a backend without a probe endpoint, and stops asking it for fallbackMs", () => {
    const { selector, sent, answer, backends, advance } = setup({
      probesPerRequest: 4,
      maxReuse: 100,
      fallbackMs: 5000,
    });
    const [b0, b1, b2, b3] = backends as [Backend, Backend, Backend, Backend];
    b0.inFlight = 0;
    selector.observe(b0, { status: 200, latencyMs: 3 });
    b1.inFlight = 2;
    selector.pick({}, acceptReady);
    // Only b1..b3 answer; b0 has no endpoint.
    answer({ b1: { rif: 4, latencyMs: 9 }, b2: { rif: 5, latencyMs: 9 }, b3: { rif: 6, latencyMs: 9 } });
    const b0Probe = selector.pool.probes().find((probe) => probe.backend === b0);
    expect(b0Probe).toMatchObject({ rif: 0, latencyMs: 3 });
    // b0 (observed: nothing in flight, 3 ms) is the fastest cold backend.
    expect(selector.pick({}, acceptReady)).toBe(b0);
    // Within fallbackMs b0 is answered locally: only the other three go on the wire.
    expect(sent.map((probe) => probe.backend)).toEqual(expect.arrayContaining([b1, b2, b3]));
    expect(sent).toHaveLength(3);
    answer({});
    advance(5000);
    selector.pick({}, acceptReady);
    expect(sent.map((probe) => probe.backend)).toContain(b0);
  });

  it("judges a backend without a probe endpoint as a backend does: by RIF, forgetting once left idle", () => {
    const { selector, startup, backends, advance } = setup({ probesPerRequest: 1, maxReuse: 1 }, 2);
    const [b0, b1] = backends as [Backend, Backend];
    for (const { done } of startup) done("unsupported");
    // The replies made up at startup (nothing seen yet) age out; then b0 answers in 50 ms, b1 in 10.
    advance(1001);
    selector.observe(b0, { status: 200, latencyMs: 50 });
    selector.observe(b1, { status: 200, latencyMs: 10 });
    selector.observe(b1, { status: 200, latencyMs: 10 });
    const picks = () => Array.from({ length: 5 }, () => selector.pick({}, acceptReady)?.id);
    expect(picks()).toEqual(["b1", "b1", "b1", "b1", "b1"]);
    // A failed or cancelled attempt says nothing about latency: b0 stays at 50 ms.
    selector.observe(b0, { error: "reset", latencyMs: 1 });
    selector.observe(b0, { error: "reset", latencyMs: 1 });
    selector.observe(b0, { error: "hedge-cancelled", latencyMs: 1 });
    expect(picks()).toEqual(["b1", "b1", "b1", "b1", "b1"]);
    // b0, left idle for the horizon, is no longer judged by its old 50 ms: it is tried again.
    advance(1001);
    selector.observe(b1, { status: 200, latencyMs: 10 });
    expect(picks()).toContain("b0");
  });

  it("ignores a reply from a backend that left the pool meanwhile", () => {
    let now = 0;
    const probes = heldProbes();
    const pool = makePool(2);
    const selector = follow(
      pool,
      create(
        { random: seededRandom(1), now: () => now++, probes: probes.transport },
        { probesPerRequest: 2 },
      ),
    ) as PrequalSelector;
    selector.pick({}, acceptReady);
    void pool.remove("b0");
    probes.answer({ b0: { rif: 0, latencyMs: 1 }, b1: { rif: 0, latencyMs: 5 } });
    expect(selector.pool.probes().map((probe) => probe.backend.id)).toEqual(["b1"]);
  });

  it("hedges only with the hedge option, counting each request once and ignoring cancelled hedges", () => {
    expect(setup().selector.hedging).toBeUndefined();
    const { selector, backends } = setup({ hedge: { quantile: 0.5 } });
    const hedging = selector.hedging as NonNullable<PrequalSelector["hedging"]>;
    const first = selector.pick({}, acceptReady) as Backend;
    selector.pick({}, acceptUntried([first]), [first]);
    selector.observe(first, { error: "hedge-cancelled" });
    selector.observe(backends[1] as Backend, { status: 200, latencyMs: 5 });
    expect(hedging.stats()).toMatchObject({ enabled: true, requests: 1 });
    expect(hedging.latencies.samples).toBe(1);
  });

  it("judges the backends by its own view while no probe is usable: the loaded one is hot", () => {
    const { selector, backends } = setup({ probesPerRequest: 1 });
    const [b0] = backends as [Backend];
    b0.inFlight = 100;
    const picks = Array.from({ length: 200 }, () => selector.pick({}, acceptReady));
    expect(picks).not.toContain(undefined);
    expect(picks.filter((backend) => backend === b0).length).toBeLessThan(60);
    expect(selector.describe(picks.at(-1) as Backend)).toMatch(/no probe in the pool, as seen here/);
  });
});
