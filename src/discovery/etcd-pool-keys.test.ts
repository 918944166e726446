import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { backendKey, poolEntries, poolKey, poolsFromEntries } from "./etcd-pool-keys.js";

const PREFIX = "/switchyard/";

describe("pool keys", () => {
  it("stores the settings under pools/NAME and each backend under pools/NAME/backends/ID", () => {
    const entries = poolEntries(PREFIX, "web", {
      algorithm: "p2c",
      backends: [{ address: "127.0.0.1:9001" }, { id: "b/2", address: "http://10.0.0.2:80", weight: 3 }],
    });
    expect(entries).toEqual([
      { key: "/switchyard/pools/web", value: '{"algorithm":"p2c"}' },
      { key: "/switchyard/pools/web/backends/127.0.0.1%3A9001", value: '{"address":"127.0.0.1:9001"}' },
      {
        key: "/switchyard/pools/web/backends/b%2F2",
        value: '{"id":"b/2","address":"http://10.0.0.2:80","weight":3}',
      },
    ]);
  });

  it("reads back what it wrote, for any ids and pool names (backends in key order)", () => {
    const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,8}$/);
    const backend = fc.record({ id: fc.string({ minLength: 1, maxLength: 12 }), weight: fc.nat(100) });
    const pools = fc.dictionary(
      name,
      fc.record({
        algorithm: fc.constantFrom("round-robin", "p2c"),
        backends: fc.uniqueArray(backend, { selector: (item) => item.id, minLength: 1, maxLength: 5 }),
      }),
      { maxKeys: 3 },
    );
    fc.assert(
      fc.property(pools, (written) => {
        const entries = Object.entries(written)
          .flatMap(([pool, spec]) => poolEntries(PREFIX, pool, spec))
          .sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
        const read = poolsFromEntries(PREFIX, entries);
        expect(Object.keys(read).sort()).toEqual(Object.keys(written).sort());
        for (const [pool, spec] of Object.entries(written)) {
          const byKey = (item: { id: string }) => backendKey(PREFIX, pool, item.id);
          const sorted = [...spec.backends].sort((a, b) =>
            Buffer.compare(Buffer.from(byKey(a)), Buffer.from(byKey(b))),
          );
          expect(read[pool]).toEqual({ algorithm: spec.algorithm, backends: sorted });
        }
      }),
    );
  });

  it("makes a pool from backend keys alone, with default settings", () => {
    const pools = poolsFromEntries(PREFIX, [
      { key: backendKey(PREFIX, "api", "a"), value: '{"id":"a","address":"127.0.0.1:1"}' },
    ]);
    expect(pools).toEqual({ api: { backends: [{ id: "a", address: "127.0.0.1:1" }] } });
  });

  it("lists every malformed key or value in one SY_ERR_CONFIG error", () => {
    const read = () =>
      poolsFromEntries(PREFIX, [
        { key: poolKey(PREFIX, "web"), value: "{not json" },
        { key: poolKey(PREFIX, "api"), value: '{"backends":[]}' },
        { key: backendKey(PREFIX, "web", "a"), value: '{"id":"b","address":"127.0.0.1:1"}' },
        { key: backendKey(PREFIX, "web", "c"), value: "[1]" },
        { key: `${PREFIX}pools/web/other/x`, value: "{}" },
        {
          key: backendKey(PREFIX, "web", "deep"),
          value: `{"labels":${"[".repeat(100_000)}${"]".repeat(100_000)}}`,
        },
      ]);
    expect(read).toThrow(/invalid pools in etcd under \/switchyard\/pools\/ \(6 problems\)/);
    try {
      read();
    } catch (error) {
      const message = (error as Error).message;
      expect((error as { code: string }).code).toBe("SY_ERR_CONFIG");
      expect(message).toContain("/switchyard/pools/web: not JSON");
      expect(message).toContain("pool settings must not hold backends");
      expect(message).toContain('the key names backend "a" but its value is backend "b"');
      expect(message).toContain("/switchyard/pools/web/backends/c: expected a JSON object, found [1]");
      expect(message).toContain("/switchyard/pools/web/other/x: not a pool key");
      expect(message).toContain(
        "/switchyard/pools/web/backends/deep: nests lists and objects deeper than 64 levels",
      );
    }
  });
});
