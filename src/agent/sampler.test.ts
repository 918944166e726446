import { describe, expect, it } from "vitest";
import { parseAgentReport } from "./agent-report.js";
import { type ContainerMetrics, type RawEntry, Sampler, type SampleSource } from "./sampler.js";

/** A source returning whatever the test set, on clocks the test drives. */
function fakeSource() {
  let entries: RawEntry[] = [];
  let fail = false;
  const source: SampleSource = {
    kind: "fake",
    collect: () => {
      if (fail) throw new Error("boom");
      return entries;
    },
  };
  return {
    source,
    set: (next: RawEntry[]) => {
      entries = next;
    },
    fail: (value: boolean) => {
      fail = value;
    },
  };
}

const entry = (overrides: Partial<RawEntry> = {}): RawEntry => ({
  id: "c1",
  name: "web",
  cpuUsec: 0,
  memoryBytes: 256,
  memoryLimitBytes: 1024,
  netRxBytes: 0,
  netTxBytes: 0,
  ...overrides,
});

describe("Sampler", () => {
  it("reports rates from successive samples, from an entry's second sample on", () => {
    let time = 0;
    const fake = fakeSource();
    const sampler = new Sampler({
      source: fake.source,
      node: "n1",
      now: () => time,
      wallClock: () => 1_000_000 + time,
    });
    fake.set([entry()]);
    sampler.sample();
    expect(sampler.report().containers).toEqual([]);
    time = 500;
    fake.set([entry({ cpuUsec: 250_000, netRxBytes: 1000, netTxBytes: 500 })]);
    sampler.sample();
    expect(sampler.report()).toEqual({
      node: "n1",
      timestamp: 1000.5,
      source: "fake",
      containers: [
        {
          id: "c1",
          name: "web",
          container_id: "c1",
          container_name: "web",
          cpu_percent: 50,
          memory_percent: 25,
          memory_bytes: 256,
          memory_mb: 0,
          net_rx_bytes_per_sec: 2000,
          net_tx_bytes_per_sec: 1000,
          network_rx_mbps: 0.016,
          network_tx_mbps: 0.008,
          timestamp: 1000.5,
        },
      ],
    });
  });

  it("serves SwarmGuard's names and units beside ours, which its report reader takes alone", () => {
    let time = 0;
    const fake = fakeSource();
    const sampler = new Sampler({ source: fake.source, now: () => time, wallClock: () => 5_000_000 });
    const big = {
      memoryBytes: 128.5 * 1024 * 1024,
      memoryLimitBytes: 1024 * 1024 * 1024,
      service: "web-stress",
    };
    fake.set([entry(big)]);
    sampler.sample();
    time = 1000;
    fake.set([entry({ ...big, netRxBytes: 1_912_500, netTxBytes: 1_512_500 })]);
    sampler.sample();
    const [metrics] = sampler.report().containers;
    expect(metrics).toMatchObject({
      container_id: "c1",
      container_name: "web",
      service_name: "web-stress",
      memory_mb: 128.5,
      memory_percent: 12.55,
      network_rx_mbps: 15.3,
      network_tx_mbps: 12.1,
    });
    // Only SwarmGuard's fields left: the balancer reads the same figures.
    const { id, name, memory_bytes, net_rx_bytes_per_sec, net_tx_bytes_per_sec, ...seedFields } =
      metrics as ContainerMetrics;
    const [parsed] = parseAgentReport({ ...sampler.report(), containers: [seedFields] }).entries;
    expect(parsed).toMatchObject({ id: "c1", name: "web", service: "web-stress", network: 3_425_000 });
  });

  it("reports CPU against the cgroup's limit when it has one", () => {
    let time = 0;
    const fake = fakeSource();
    const sampler = new Sampler({ source: fake.source, now: () => time });
    fake.set([entry({ cpuLimitCores: 0.5 })]);
    sampler.sample();
    time = 1000;
    fake.set([entry({ cpuLimitCores: 0.5, cpuUsec: 400_000 })]);
    sampler.sample();
    expect(sampler.report().containers[0]?.cpu_percent).toBe(80);
  });

  it("starts over when a pid is reused or counters go backwards, and forgets vanished entries", () => {
    let time = 0;
    const fake = fakeSource();
    const sampler = new Sampler({ source: fake.source, now: () => time });
    fake.set([entry({ generation: "a", cpuUsec: 5_000_000 })]);
    sampler.sample();
    time = 1000;
    fake.set([entry({ generation: "b", cpuUsec: 10 })]);
    sampler.sample();
    expect(sampler.report().containers).toEqual([]);
    time = 2000;
    fake.set([entry({ generation: "b", cpuUsec: 100_010, netRxBytes: 0 })]);
    sampler.sample();
    expect(sampler.report().containers[0]?.cpu_percent).toBe(10);
    fake.set([]);
    time = 3000;
    sampler.sample();
    expect(sampler.report().containers).toEqual([]);
  });

  it("keeps the last report when the source throws, and counts the failure", () => {
    const fake = fakeSource();
    const sampler = new Sampler({ source: fake.source });
    fake.fail(true);
    sampler.sample();
    expect(sampler.status()).toMatchObject({ failures: 1, lastError: "boom", samples: 0 });
  });
});
