import { describe, expect, it } from "vitest";
import { createBalancer } from "../balancer/balancer.js";

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
});
