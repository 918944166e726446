import { describe, expect, it } from "vitest";
import { Pool } from "./pool.js";

describe("Pool", () => {
  it("adds backends with defaults and announces them", () => {
    const pool = new Pool();
    const added: string[] = [];
    pool.on("added", (backend) => added.push(backend.id));
    const backend = pool.add({ address: "127.0.0.1:9001" });
    expect(backend).toMatchObject({
      id: "127.0.0.1:9001",
      weight: 1,
      enabled: true,
      state: "healthy",
      ready: true,
    });
    expect(added).toEqual(["127.0.0.1:9001"]);
    expect(pool.get("127.0.0.1:9001")).toBe(backend);
  });

  it("rejects duplicate ids and bad weights with coded errors", () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001" }]);
    expect(() => pool.add({ id: "a", address: "127.0.0.1:9002" })).toThrowError(
      expect.objectContaining({ code: "SY_ERR_DUPLICATE_BACKEND" }),
    );
    expect(() => pool.setWeight("a", -1)).toThrowError(
      expect.objectContaining({ code: "SY_ERR_INVALID_OPTIONS" }),
    );
    expect(() => pool.setWeight("nope", 1)).toThrowError(
      expect.objectContaining({ code: "SY_ERR_UNKNOWN_BACKEND" }),
    );
  });

  it("publishes a new immutable snapshot on membership and weight changes only", () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001" }]);
    const first = pool.backends;
    expect(Object.isFrozen(first)).toBe(true);
    pool.add({ id: "b", address: "127.0.0.1:9002" });
    const second = pool.backends;
    expect(second).not.toBe(first);
    expect(first.map((backend) => backend.id)).toEqual(["a"]);
    pool.disable("a");
    expect(pool.backends).toBe(second);
    pool.setWeight("a", 3);
    expect(pool.backends).not.toBe(second);
    expect(pool.require("a").weight).toBe(3);
  });

  it("keeps the operator switch apart from health state", () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001" }]);
    const backend = pool.require("a");
    const changes: string[] = [];
    pool.on("state-changed", (b, previous) => changes.push(`${previous}->${b.state}`));
    pool.disable("a");
    expect(backend.state).toBe("healthy");
    expect(backend.ready).toBe(false);
    pool.enable("a");
    pool.setState("a", "degraded");
    expect(backend.ready).toBe(true);
    pool.setState("a", "unhealthy");
    expect(backend.ready).toBe(false);
    expect(changes).toEqual(["healthy->degraded", "degraded->unhealthy"]);
  });

  it("halves a degraded backend's weight for the algorithms, keeping the configured one", () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001", weight: 4 }]);
    const backend = pool.require("a");
    pool.setState("a", "degraded");
    expect(backend).toMatchObject({ weight: 2, configuredWeight: 4, ready: true });
    pool.setWeight("a", 6);
    expect(backend).toMatchObject({ weight: 3, configuredWeight: 6 });
    pool.setState("a", "healthy");
    expect(backend.weight).toBe(6);
  });

  it("removes at once without drain", async () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001" }]);
    const removed: string[] = [];
    pool.on("removed", (backend) => removed.push(backend.id));
    pool.require("a").inFlight = 3;
    await pool.remove("a");
    expect(pool.size).toBe(0);
    expect(removed).toEqual(["a"]);
  });

  it("drains: stops new traffic, waits for in-flight work, then removes", async () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001" }]);
    const backend = pool.require("a");
    backend.inFlight = 1;
    const removal = pool.remove("a", { drain: true, drainTimeoutMs: 5000 });
    expect(backend.state).toBe("draining");
    expect(backend.ready).toBe(false);
    expect(pool.size).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(pool.size).toBe(1);
    backend.inFlight = 0;
    await removal;
    expect(pool.size).toBe(0);
  });

  it("gives up draining after the timeout", async () => {
    const pool = new Pool([{ id: "a", address: "127.0.0.1:9001" }]);
    pool.require("a").inFlight = 1;
    const started = Date.now();
    await pool.remove("a", { drain: true, drainTimeoutMs: 80 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(70);
    expect(pool.size).toBe(0);
  });
});
