/**
 * The light entry points: `switchyard-lb/engine` and `switchyard-lb/dispatcher`,
 * imported by package name from the built package in a child process whose
 * resolve hook lists every npm package loaded (ESM has no require cache to
 * read). Neither may load pino, prom-client, maxmind, yaml or etcd3 (etcd3
 * only once etcd discovery is used); the root entry, which loads yaml and
 * prom-client, shows the hook sees them.
 */
import { execFile } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const HOOK = join(ROOT, "test", "fixtures", "record-packages.mjs");
const HEAVY = ["pino", "prom-client", "maxmind", "yaml", "etcd3"];

/** The npm packages loaded by importing `specifier` and calling `use` on it. */
async function packagesLoaded(specifier: string, use = ""): Promise<string[]> {
  const script = `const m = await import(${JSON.stringify(specifier)}); ${use}`;
  const { stderr } = await promisify(execFile)(
    process.execPath,
    ["--import", HOOK, "--input-type=module", "-e", script],
    { cwd: ROOT, timeout: 15_000 },
  );
  return [...stderr.matchAll(/^package (\S+)$/gm)].map((match) => match[1] ?? "");
}

describe("light entry points", () => {
  it("the root entry loads the config loader and exporter (the hook sees them)", async () => {
    expect(await packagesLoaded("switchyard-lb")).toEqual(expect.arrayContaining(["yaml", "prom-client"]));
  });

  it("switchyard-lb/engine balances without loading them", async () => {
    const loaded = await packagesLoaded(
      "switchyard-lb/engine",
      `const b = m.createBalancer({ backends: [{ address: "127.0.0.1:1" }], algorithm: "p2c" });
       if (b.select({}).backend.port !== 1) throw new Error("no pick");`,
    );
    expect(loaded.filter((name) => HEAVY.includes(name))).toEqual([]);
    expect(loaded).toContain("zod");
  });

  it("switchyard-lb/dispatcher builds a dispatcher without loading them", async () => {
    const loaded = await packagesLoaded(
      "switchyard-lb/dispatcher",
      `const d = new m.BalancedDispatcher({ services: { orders: { backends: ["127.0.0.1:1"] } } });
       await d.close();`,
    );
    expect(loaded.filter((name) => HEAVY.includes(name))).toEqual([]);
    expect(loaded).toContain("undici");
  });

  it("switchyard-lb/dispatcher loads etcd3 once a service follows a pool in etcd", async () => {
    const loaded = await packagesLoaded(
      "switchyard-lb/dispatcher",
      `const d = new m.BalancedDispatcher({ services: { orders: { discovery: { etcd: {
         endpoints: ["http://127.0.0.1:1"], pool: "orders", requestTimeoutMs: 500 } } } } });
       await d.ready();
       if (d.stats().orders.discovery.failures === 0) throw new Error("no failed read");
       await d.close();`,
    );
    expect(loaded).toContain("etcd3");
    expect(loaded.filter((name) => HEAVY.includes(name) && name !== "etcd3")).toEqual([]);
  });
});
