import { describe, expect, it } from "vitest";
import { Backend } from "../core/backend.js";
import { LeaseTable } from "./leases.js";

function clock() {
  let time = 0;
  return {
    now: () => time,
    set: (ms: number) => {
      time = ms;
    },
  };
}

describe("LeaseTable", () => {
  const backend = new Backend({ id: "a", address: "127.0.0.1:1" });

  it("expires a lease exactly at its duration, on the injected clock", () => {
    const time = clock();
    const leases = new LeaseTable({ durationMs: 30_000, now: time.now });
    leases.acquire(backend);
    time.set(10_000);
    leases.acquire(backend);
    time.set(29_999);
    expect(leases.count(backend)).toBe(2);
    time.set(30_000);
    expect(leases.count(backend)).toBe(1);
    time.set(39_999);
    expect(leases.count(backend)).toBe(1);
    time.set(40_000);
    expect(leases.count(backend)).toBe(0);
    expect(leases.totals()).toEqual({ granted: 2, expired: 2, live: 0 });
  });

  it("keeps thousands of leases in order as its ring grows", () => {
    const time = clock();
    const leases = new LeaseTable({ durationMs: 1000, now: time.now });
    for (let i = 0; i < 5000; i++) {
      time.set(i);
      leases.acquire(backend);
    }
    time.set(5500);
    expect(leases.count(backend)).toBe(499);
  });

  it("ignores finishes unless releaseOnFinish", () => {
    const time = clock();
    const leases = new LeaseTable({ now: time.now });
    leases.acquire(backend);
    leases.release(backend);
    expect(leases.count(backend)).toBe(1);
  });

  it("with releaseOnFinish, ends a lease per finish and does not double-count an expired one", () => {
    const time = clock();
    const leases = new LeaseTable({ durationMs: 100, releaseOnFinish: true, now: time.now });
    leases.acquire(backend);
    leases.acquire(backend);
    leases.release(backend);
    expect(leases.count(backend)).toBe(1);
    time.set(100);
    expect(leases.count(backend)).toBe(0);
    leases.acquire(backend);
    // The finish of the request whose lease already expired must not end the new lease.
    leases.release(backend);
    expect(leases.count(backend)).toBe(1);
  });

  it("forgets backends no longer in the pool", () => {
    const leases = new LeaseTable({ now: () => 0 });
    const other = new Backend({ id: "b", address: "127.0.0.1:2" });
    leases.acquire(backend);
    leases.acquire(other);
    leases.retain([other]);
    expect(leases.count(backend)).toBe(0);
    expect(leases.count(other)).toBe(1);
  });
});
