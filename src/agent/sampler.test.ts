import { describe, expect, it } from "vitest";
import { type RawEntry, Sampler, type SampleSource } from "./sampler.js";

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
          cpu_percent: 50,
          memory_percent: 25,
          memory_bytes: 256,
          net_rx_bytes_per_sec: 2000,
          net_tx_bytes_per_sec: 1000,
          timestamp: 1000.5,
        },
      ],
    });
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
