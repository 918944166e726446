import { describe, expect, it } from "vitest";
import { Pool } from "../core/pool.js";
import { DiscoveredBackends } from "./discovered-backends.js";

function capture() {
  const lines: string[] = [];
  const log = (level: string) => (_obj: object, msg: string) => lines.push(`${level}: ${msg}`);
  return { lines, logger: { info: log("info"), warn: log("warn"), error: log("error") } };
}

describe("DiscoveredBackends", () => {
  it("adds, re-weights and drains what the list says, and logs the changes", async () => {
    const pool = new Pool();
    const { lines, logger } = capture();
    const members = new DiscoveredBackends(pool, logger);
    expect(members.apply([{ address: "10.0.0.1:80" }, { address: "10.0.0.2:80" }], "test")).toMatchObject({
      added: ["10.0.0.1:80", "10.0.0.2:80"],
    });
    const leaving = pool.require("10.0.0.1:80");
    leaving.inFlight = 1; // a request in flight: the backend drains before it goes
    const changes = members.apply([{ address: "10.0.0.2:80", weight: 4 }], "test", 5_000);
    expect(changes).toMatchObject({ draining: ["10.0.0.1:80"], reweighted: ["10.0.0.2:80"] });
    expect(leaving.state).toBe("draining");
    expect(pool.require("10.0.0.2:80").weight).toBe(4);
    leaving.inFlight = 0;
    await new Promise((resolve) => pool.once("removed", resolve));
    expect(pool.backends.map((backend) => backend.id)).toEqual(["10.0.0.2:80"]);
    expect(members.size).toBe(1);
    expect(lines).toEqual(["info: test: backends changed", "info: test: backends changed"]);
  });

  it("leaves the pool's own backends and an operator's changes alone until the list changes them", () => {
    const pool = new Pool([{ id: "static", address: "10.0.0.9:80" }]);
    const members = new DiscoveredBackends(pool, capture().logger);
    members.apply(
      [
        { address: "10.0.0.9:80", id: "static" },
        { address: "10.0.0.1:80", weight: 2 },
      ],
      "test",
    );
    expect(members.size).toBe(1);
    pool.setWeight("10.0.0.1:80", 7);
    pool.disable("10.0.0.1:80");
    members.apply([{ address: "10.0.0.1:80", weight: 2 }], "test");
    const backend = pool.require("10.0.0.1:80");
    expect([backend.weight, backend.enabled]).toEqual([7, false]);
    expect(pool.get("static")).toBeDefined();
    // The list changes the weight, not enabled: the operator's switch stands.
    members.apply([{ address: "10.0.0.1:80", weight: 3, enabled: true }], "test");
    expect([backend.weight, backend.enabled]).toEqual([3, false]);
  });

  it("adds a backend listed again while it drains once it has left", async () => {
    const pool = new Pool();
    const members = new DiscoveredBackends(pool, capture().logger);
    members.apply([{ address: "10.0.0.1:80" }], "test");
    const first = pool.require("10.0.0.1:80");
    first.inFlight = 1;
    members.apply([], "test", 5_000);
    expect(members.apply([{ address: "10.0.0.1:80" }], "test").added).toEqual([]);
    first.inFlight = 0;
    await new Promise((resolve) => pool.once("removed", resolve));
    expect(members.apply([{ address: "10.0.0.1:80" }], "test").added).toEqual(["10.0.0.1:80"]);
    expect(pool.require("10.0.0.1:80")).not.toBe(first);
  });

  it("reports a changed region or labels instead of applying it", () => {
    const pool = new Pool();
    const { lines, logger } = capture();
    const members = new DiscoveredBackends(pool, logger);
    members.apply([{ id: "a", address: "10.0.0.1:80", region: "eu" }], "test");
    const changes = members.apply([{ id: "a", address: "10.0.0.1:80", region: "us" }], "test");
    expect(changes.unapplied).toEqual(["a"]);
    expect(pool.require("a").region).toBe("eu");
    expect(lines.at(-1)).toMatch(/^warn: test: address, region, location or labels changed/);
  });
});
