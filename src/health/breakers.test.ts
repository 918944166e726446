import { describe, expect, it } from "vitest";
import { noOptions, registerAlgorithm } from "../algorithms/registry.js";
import { Balancer, createBalancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { Accept, Selector } from "../core/selector.js";

function setup(circuitBreaker?: false) {
  let now = 0;
  const balancer = createBalancer({
    backends: [
      { id: "a", address: "127.0.0.1:9001" },
      { id: "b", address: "127.0.0.1:9002" },
    ],
    now: () => now,
    circuitBreaker: circuitBreaker ?? { minRequests: 5 },
    // Passive ejection would also take a failing backend out; these tests look at breakers alone.
    outlierDetection: false,
  });
  /** Sends `n` requests; backend a answers `statusA`, b always 200. Returns who got them. */
  const send = (n: number, statusA: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const decision = balancer.select({});
      ids.push(decision.backend.id);
      decision.finish({ status: decision.backend.id === "a" ? statusA : 200, latencyMs: 1 });
    }
    return ids;
  };
  return { balancer, send, advance: (ms: number) => (now += ms) };
}

/**
 * Asks `accept` about every backend in pool order, as a scanning algorithm
 * does, and takes the first accepted one in `prefer` order (pool order when
 * empty). Counts its picks and notes whom it asked.
 */
const probe = { prefer: [] as string[], picks: 0, asked: [] as string[] };
class PreferenceSelector implements Selector {
  readonly name = "breakers-test-preference";
  #backends: readonly Backend[] = [];

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends;
  }

  pick(_ctx: unknown, accept: Accept): Backend | undefined {
    probe.picks++;
    probe.asked = [];
    const accepted = this.#backends.filter((backend) => {
      probe.asked.push(backend.id);
      return accept(backend);
    });
    const rank = (backend: Backend) => {
      const place = probe.prefer.indexOf(backend.id);
      return place < 0 ? probe.prefer.length : place;
    };
    return accepted.sort((x, y) => rank(x) - rank(y))[0];
  }

  describe(): string {
    return "test";
  }
}

registerAlgorithm({
  name: "breakers-test-preference",
  summary: "asks about every backend, takes the preferred accepted one",
  options: noOptions,
  create: () => new PreferenceSelector(),
});

/** Backends a, b and c; a's breaker half-open with `halfOpenProbes` probe slots. */
function halfOpenA(halfOpenProbes: number) {
  let now = 0;
  const balancer = new Balancer({
    backends: ["a", "b", "c"].map((id, i) => ({ id, address: `127.0.0.1:${9001 + i}` })),
    algorithm: "breakers-test-preference",
    now: () => now,
    circuitBreaker: { minRequests: 5, halfOpenProbes },
    outlierDetection: false,
  });
  const circuit = () => balancer.stats().backends.find((backend) => backend.id === "a")?.circuit;
  probe.prefer = ["a"];
  for (let i = 0; i < 5; i++) balancer.select({}).finish({ status: 500, latencyMs: 1 });
  expect(circuit()).toBe("open");
  now += 30_000;
  probe.picks = 0;
  return { balancer, circuit };
}

describe("circuit breakers in the balancer", () => {
  it("opens a failing backend's circuit and routes around it", () => {
    const { balancer, send } = setup();
    send(10, 500);
    const a = balancer.stats().backends.find((backend) => backend.id === "a");
    expect(a).toMatchObject({ circuit: "open", ready: false });
    expect(balancer.stats().breakerOpenings).toBe(1);
    expect(send(20, 500)).not.toContain("a");
  });

  it("half-opens after 30 s, rations probes, and closes when they pass", () => {
    const { balancer, send, advance } = setup();
    send(10, 500);
    advance(30_000);
    // Probes go out one at a time here (each finishes before the next select), three in all.
    const ids = send(12, 200);
    expect(ids.filter((id) => id === "a").length).toBeGreaterThanOrEqual(3);
    expect(balancer.stats().backends.find((backend) => backend.id === "a")?.circuit).toBe("closed");
  });

  it("allows no more concurrent probes than configured while half-open", () => {
    const { balancer, send, advance } = setup();
    send(10, 500);
    advance(30_000);
    const open = Array.from({ length: 10 }, () => balancer.select({}));
    expect(open.filter((decision) => decision.backend.id === "a")).toHaveLength(3);
  });

  it("can be disabled", () => {
    const { balancer, send } = setup(false);
    send(40, 500);
    expect(balancer.stats().backends.find((backend) => backend.id === "a")?.circuit).toBe("closed");
    expect(send(4, 500)).toContain("a");
  });

  it("skips a half-open backend out of probe slots for the next candidate, in the same pick", () => {
    const { balancer, circuit } = halfOpenA(2);
    const probes = [balancer.select({}), balancer.select({})];
    expect(probes.map((decision) => decision.backend.id)).toEqual(["a", "a"]);
    expect(circuit()).toBe("half-open");
    const next = balancer.select({});
    expect(next.backend.id).toBe("b");
    expect(probe.asked).toEqual(["a", "b", "c"]);
    // One selector pick per decision: no second pick with the refused backend excluded.
    expect(probe.picks).toBe(3);
  });

  it("takes a probe slot only for the backend chosen, not for every candidate asked", () => {
    const { balancer, circuit } = halfOpenA(1);
    probe.prefer = ["b", "a"];
    for (let i = 0; i < 3; i++) {
      expect(balancer.select({}).backend.id).toBe("b");
      expect(probe.asked).toContain("a");
    }
    probe.prefer = ["a"];
    expect(balancer.select({}).backend.id).toBe("a");
    expect(circuit()).toBe("half-open");
    // Its one slot is taken now.
    expect(balancer.select({}).backend.id).toBe("b");
  });
});
