import { describe, expect, it } from "vitest";
import type { Backend } from "../core/backend.js";
import { acceptReady, acceptUntried } from "../core/selector.js";
import { ProbePool, type ProbePoolOptions, probeOf, rifNow } from "./probe-pool.js";
import { makePool } from "./selector.case.js";

const defaults: ProbePoolOptions = { poolSize: 16, maxAgeMs: 1000, maxReuse: 100, rifQuantile: 0.84 };

function setup(options: Partial<ProbePoolOptions> = {}) {
  let now = 0;
  const pool = new ProbePool({ ...defaults, ...options }, () => now);
  const backends = makePool(10).backends as Backend[];
  /** Fills the pool from a table of [rif, latencyMs], one row per backend b0, b1, ... */
  const fill = (table: [number, number][]) => {
    table.forEach(([rif, latencyMs], i) => {
      pool.add(backends[i] as Backend, { rif, latencyMs });
    });
  };
  return { pool, backends, fill, advance: (ms: number) => (now += ms) };
}

describe("probe pool: the hot-cold rule", () => {
  it("picks the lowest latency among cold probes, not the lowest RIF", () => {
    const { pool, fill } = setup();
    // RIFs 2,3,4,5,20: the 0.84 quantile is 5 + 0.36 × 15 = 10.4, so only b4 is hot.
    fill([
      [2, 30],
      [3, 12],
      [4, 9],
      [5, 15],
      [20, 1],
    ]);
    expect(pool.pick(acceptReady)?.backend.id).toBe("b2");
    expect(pool.lastRule).toBe("cold");
  });

  it("breaks a latency tie by the lower RIF", () => {
    const { pool, fill } = setup();
    fill([
      [4, 10],
      [1, 10],
      [3, 10],
    ]);
    expect(pool.pick(acceptReady)?.backend.id).toBe("b1");
  });

  it("takes the lowest RIF when every candidate left is hot", () => {
    const { pool, fill, backends } = setup();
    // Ten probes: the 0.84 quantile falls between the 8th and 9th RIF, so the top two are hot.
    fill([
      [1, 5],
      [2, 5],
      [3, 5],
      [4, 5],
      [5, 5],
      [6, 5],
      [7, 5],
      [8, 5],
      [30, 1],
      [25, 2],
    ]);
    // The cold ones have been tried: b8 and b9 are hot, b9 has fewer in flight.
    const tried = backends.slice(0, 8);
    expect(pool.pick(acceptUntried(tried))?.backend.id).toBe("b9");
    expect(pool.lastRule).toBe("hot");
  });

  it("skips unready and tried backends, and answers nothing when no probe is usable", () => {
    const { pool, fill, backends } = setup();
    fill([
      [1, 1],
      [2, 2],
    ]);
    expect(pool.pick(acceptUntried([backends[0] as Backend]))?.backend.id).toBe("b1");
    expect(pool.pick(acceptUntried(backends.slice(0, 2)))).toBeUndefined();
  });

  it("judges local views alongside the probes, in the RIF quantile too, and does not keep them", () => {
    const { pool, fill, backends } = setup();
    // One probe left, b0: slow and cold on its own.
    fill([[2, 50]]);
    const local = (backend: Backend, rif: number, latencyMs: number) =>
      probeOf(backend, { rif, latencyMs }, 0);
    // b1 seen here: 3 in flight at 10 ms. Among RIFs {2, 3} the quantile is 2.84, so b1 is hot and b0 wins.
    expect(pool.pick(acceptReady, [local(backends[1] as Backend, 3, 10)])?.backend.id).toBe("b0");
    (backends[0] as Backend).inFlight++;
    // b0 now at RIF 3; with b2 at RIF 1 the three RIFs put the threshold at 3: all cold, b2 is fastest.
    expect(
      pool.pick(acceptReady, [local(backends[1] as Backend, 3, 10), local(backends[2] as Backend, 1, 8)])
        ?.backend.id,
    ).toBe("b2");
    expect(pool.probes().map((probe) => probe.backend.id)).toEqual(["b0"]);
  });
});

describe("probe pool: RIF as of now", () => {
  it("adds the requests this balancer sent since the reply and takes off those that came back", () => {
    const { pool, fill, backends } = setup();
    const [b0, b1] = backends as [Backend, Backend];
    b0.inFlight = 2;
    // b1's reply missed one of this balancer's two requests, still on its way when the backend answered.
    b1.inFlight = 2;
    fill([
      [5, 10],
      [1, 10],
    ]);
    b0.inFlight += 3;
    b1.inFlight += 1;
    expect(pool.probes().map(rifNow)).toEqual([8, 2]);
    // Four of b0's five came back, two of them in flight before the reply: counted by the backend then, gone now.
    b0.inFlight -= 4;
    expect(pool.probes().map(rifNow)).toEqual([4, 2]);
    // Never below zero, whatever the reply missed.
    b0.inFlight = 0;
    b1.inFlight = 0;
    expect(pool.probes().map(rifNow)).toEqual([3, 0]);
  });

  it("spreads a burst: the fast cold backend turns hot as requests go to it, and cold again as they finish", () => {
    const { pool, fill, backends } = setup({ maxReuse: 100 });
    // Five probes of RIF 2; b0 answers fastest.
    fill([
      [2, 8],
      [2, 10],
      [2, 10],
      [2, 10],
      [2, 10],
    ]);
    const send = () => {
      const probe = pool.pick(acceptReady) as NonNullable<ReturnType<ProbePool["pick"]>>;
      probe.backend.inFlight++;
      return probe.backend.id;
    };
    // RIFs {3, 2, 2, 2, 2}: the 0.84 quantile is 2 + 0.36 × 1 = 2.36, so b0 at 3 is hot; the next goes elsewhere.
    expect([send(), send()]).toEqual(["b0", "b1"]);
    expect(pool.lastRif).toBe(2);
    (backends[0] as Backend).inFlight--;
    expect(send()).toBe("b0");
  });

  it("admits one request at a time to a backend without a latency estimate (new, or idle since it was slow)", () => {
    const { pool, fill, backends } = setup({ maxReuse: 100 });
    // b0 answered 0 ms (no recent sample): the fastest, but cold only with nothing in flight.
    fill([
      [0, 0],
      [3, 10],
      [3, 10],
      [3, 10],
    ]);
    const b0 = backends[0] as Backend;
    expect(pool.pick(acceptReady)?.backend).toBe(b0);
    b0.inFlight++;
    expect(pool.pick(acceptReady)?.backend.id).toBe("b1");
    // Its first request came back: the next may go.
    b0.inFlight--;
    expect(pool.pick(acceptReady)?.backend).toBe(b0);
  });

  it("reads a local view (no reply) as the in-flight count now", () => {
    const { backends } = setup();
    const b0 = backends[0] as Backend;
    b0.inFlight = 4;
    const view = probeOf(b0, { rif: b0.inFlight, latencyMs: 5 }, 0);
    b0.inFlight = 1;
    expect(rifNow(view)).toBe(1);
  });
});

describe("probe pool: ageing, reuse and size", () => {
  it("drops probes older than maxAgeMs", () => {
    const { pool, backends, advance } = setup({ maxAgeMs: 100 });
    pool.add(backends[0] as Backend, { rif: 0, latencyMs: 1 });
    advance(60);
    pool.add(backends[1] as Backend, { rif: 5, latencyMs: 50 });
    advance(50);
    // b0's probe is 110 ms old: gone, so b1 wins despite its figures.
    expect(pool.probes().map((probe) => probe.backend.id)).toEqual(["b1"]);
    expect(pool.pick(acceptReady)?.backend.id).toBe("b1");
    advance(60);
    expect(pool.pick(acceptReady)).toBeUndefined();
  });

  it("drops a probe once it has placed maxReuse requests", () => {
    const { pool, backends } = setup({ maxReuse: 2 });
    pool.add(backends[0] as Backend, { rif: 0, latencyMs: 1 });
    expect(pool.pick(acceptReady)?.backend.id).toBe("b0");
    expect(pool.size).toBe(1);
    expect(pool.pick(acceptReady)?.backend.id).toBe("b0");
    expect(pool.size).toBe(0);
  });

  it("keeps one probe per backend, the newest, and evicts the oldest when full", () => {
    const { pool, backends, advance } = setup({ poolSize: 2 });
    pool.add(backends[0] as Backend, { rif: 9, latencyMs: 9 });
    advance(1);
    pool.add(backends[0] as Backend, { rif: 1, latencyMs: 1 });
    expect(pool.probes().map((probe) => [probe.backend.id, probe.rif])).toEqual([["b0", 1]]);
    pool.add(backends[1] as Backend, { rif: 2, latencyMs: 2 });
    pool.add(backends[2] as Backend, { rif: 3, latencyMs: 3 });
    expect(pool.probes().map((probe) => probe.backend.id)).toEqual(["b1", "b2"]);
  });

  it("follows membership through retain", () => {
    const { pool, fill } = setup();
    fill([
      [1, 1],
      [2, 2],
    ]);
    pool.retain((backend) => backend.id !== "b0");
    expect(pool.pick(acceptReady)?.backend.id).toBe("b1");
  });
});
