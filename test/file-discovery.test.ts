/**
 * File discovery with real files and real HTTP backends on 127.0.0.1: the
 * pool follows edits (written in place or replaced by rename, as editors
 * and Kubernetes do), a bad or missing file keeps the backends and is
 * reported, and the client dispatcher and a proxy started from a config
 * file route to the listed backends and follow an edit; a config reload
 * swaps the source in place.
 */
import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fetch } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import { BalancedDispatcher } from "../src/client/balanced-dispatcher.js";
import { parseConfig, resolveConfig } from "../src/config/load.js";
import { Pool } from "../src/core/pool.js";
import { Discovery } from "../src/discovery/discovery.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { parseExposition } from "./helpers/exposition.js";
import { useTempDir } from "./helpers/fixtures.js";
import { request, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const dir = useTempDir("switchyard-file-discovery-");
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function backend(name: string): Promise<TestServer> {
  const server = await startServer((_req, res) => res.end(name));
  cleanups.push(() => server.close());
  return server;
}

/** Replaces `file` by rename, as editors and ConfigMap updates do. */
async function replace(file: string, text: string): Promise<void> {
  const temp = `${file}.${Date.now()}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}

function capture() {
  const lines: { level: string; msg: string }[] = [];
  const log = (level: string) => (_obj: object, msg: string) => lines.push({ level, msg });
  return { lines, logger: { info: log("info"), warn: log("warn"), error: log("error") } };
}

const ids = (pool: Pool) => pool.backends.map((backend) => `${backend.id} w${backend.weight}`);

describe("file discovery", () => {
  it("follows the file as it is edited in place or replaced", async () => {
    const file = await dir.file(
      "follow.json",
      JSON.stringify(["10.0.0.1:80", { address: "10.0.0.2:80", weight: 2 }]),
    );
    const pool = new Pool();
    const discovery = new Discovery(pool, { file: { path: file } });
    cleanups.push(() => discovery.stop());
    await discovery.start();
    expect(ids(pool)).toEqual(["10.0.0.1:80 w1", "10.0.0.2:80 w2"]);

    await writeFile(file, JSON.stringify([{ address: "10.0.0.2:80", weight: 5 }, "10.0.0.3:80"]));
    await waitFor(() => pool.size === 2 && pool.get("10.0.0.3:80") !== undefined, 5_000);
    expect(ids(pool)).toEqual(["10.0.0.2:80 w5", "10.0.0.3:80 w1"]);

    await replace(file, JSON.stringify(["10.0.0.4:80"]));
    await waitFor(() => pool.size === 1, 5_000);
    expect(ids(pool)).toEqual(["10.0.0.4:80 w1"]);
    expect(discovery.stats()).toMatchObject({ source: "file", target: file, failures: 0, backends: 1 });
  });

  it("keeps the backends when the file turns bad, reports it once, and recovers", async () => {
    const file = await dir.file("bad.json", JSON.stringify(["10.0.0.1:80"]));
    const pool = new Pool();
    const { lines, logger } = capture();
    const discovery = new Discovery(pool, { file: { path: file, intervalMs: 100 } }, logger);
    cleanups.push(() => discovery.stop());
    await discovery.start();

    await writeFile(file, JSON.stringify(["10.0.0.2:80", { address: "10.0.0.3:80", weight: -1 }]));
    // Re-read on the change and every 100 ms: one error line however many reads.
    await waitFor(() => (discovery.stats()?.failures ?? 0) >= 3, 5_000);
    expect(ids(pool)).toEqual(["10.0.0.1:80 w1"]);
    expect(discovery.stats()?.lastError).toBe("[1].weight: expected a number from 0 to 10000");
    const errors = lines.filter((line) => line.level === "error");
    expect(errors.map((line) => line.msg)).toEqual([
      `backends file ${file}: [1].weight: expected a number from 0 to 10000; keeping the backends as they are`,
    ]);

    await rm(file);
    await waitFor(() => discovery.stats()?.lastError === "no such file", 5_000);
    expect(ids(pool)).toEqual(["10.0.0.1:80 w1"]);

    await writeFile(file, JSON.stringify(["10.0.0.2:80"]));
    await waitFor(() => pool.get("10.0.0.2:80") !== undefined && pool.size === 1, 5_000);
    // Recovered: no failure since the last success; the last error stays, with its time.
    const recovered = discovery.stats();
    expect(recovered).toMatchObject({ consecutiveFailures: 0, lastError: "no such file" });
    expect(recovered?.lastSuccessAt).toBeGreaterThanOrEqual(recovered?.lastErrorAt ?? Number.NaN);
    expect(
      lines.some((line) => line.msg.endsWith("answering again after failures; backends follow it")),
    ).toBe(true);
  });

  it("starts on a missing file with no backends and picks the file up when it appears", async () => {
    const file = join(dir.path, "later.json");
    const pool = new Pool();
    const discovery = new Discovery(pool, { file: { path: file } });
    cleanups.push(() => discovery.stop());
    await discovery.start();
    expect(pool.size).toBe(0);
    expect(discovery.stats()?.lastError).toBe("no such file");
    await replace(file, JSON.stringify(["10.0.0.1:80"]));
    await waitFor(() => pool.size === 1, 5_000);
  });

  it("feeds the client dispatcher, whose traffic follows an edit", async () => {
    const one = await backend("one");
    const two = await backend("two");
    const file = await dir.file("client.json", JSON.stringify([one.address]));
    const dispatcher = new BalancedDispatcher({
      services: { orders: { discovery: { file: { path: file } } } },
    });
    cleanups.push(() => dispatcher.destroy());
    await dispatcher.ready();
    const answers = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) seen.add(await (await fetch("http://orders/", { dispatcher })).text());
      return [...seen].sort();
    };
    expect(await answers()).toEqual(["one"]);
    await replace(file, JSON.stringify([one.address, two.address]));
    await waitFor(() => dispatcher.service("orders").balancer.pool.size === 2, 5_000);
    expect(await answers()).toEqual(["one", "two"]);
    expect(dispatcher.service("orders").discovery?.stats()).toMatchObject({ source: "file", backends: 2 });
  });
});

describe("file discovery in the proxy", () => {
  async function start(configFile: string): Promise<Runtime> {
    const runtime = await startSwitchyard(await resolveConfig({ file: configFile }));
    cleanups.push(() => runtime.close(1_000));
    return runtime;
  }

  /** The backends' answers to `count` requests through the proxy on `port`. */
  async function answers(port: number, count: number): Promise<string[]> {
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const response = await request({ port, path: "/" });
      expect(response.status).toBe(200);
      seen.add(response.body.toString());
    }
    return [...seen].sort();
  }

  it("routes to the listed backends from the start and follows an edit", async () => {
    const one = await backend("one");
    const two = await backend("two");
    const list = await dir.file("proxy-backends.json", JSON.stringify([one.address]));
    const config = await dir.file(
      "proxy.yaml",
      `listeners: [{ name: web, listen: "127.0.0.1:0", pool: web }]
pools:
  web:
    discovery: { file: { path: ${JSON.stringify(list)} } }
`,
    );
    const runtime = await start(config);
    const port = runtime.listeners[0]?.port ?? 0;
    expect(await answers(port, 4)).toEqual(["one"]);

    await replace(list, JSON.stringify([two.address]));
    const pool = runtime.balancers.get("web")?.pool;
    await waitFor(() => pool?.get(two.address) !== undefined && pool.get(one.address) === undefined, 5_000);
    expect(await answers(port, 4)).toEqual(["two"]);
    expect(runtime.discoveries.get("web")?.stats()).toMatchObject({
      source: "file",
      failures: 0,
      backends: 1,
    });
  });

  it("shows each source's state in /api/stats and /metrics: refreshes, backends, last success, a bad file's error", async () => {
    const one = await backend("one");
    const list = await dir.file("status-backends.json", JSON.stringify([one.address]));
    const startedAt = Date.now();
    const runtime = await startSwitchyard(
      parseConfig({
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
        pools: {
          web: { discovery: { file: { path: list, intervalMs: 100 } } },
          fixed: { backends: [{ address: one.address }] },
        },
        admin: { listen: "127.0.0.1:0" },
      }),
    );
    cleanups.push(() => runtime.close(1_000));
    const admin = runtime.admin?.port ?? 0;
    const stats = async () => {
      const reply = await request({ port: admin, path: "/api/stats" });
      expect(reply.status).toBe(200);
      return JSON.parse(reply.text).pools as Record<string, { discovery?: Record<string, unknown> }>;
    };
    const scrape = async () => {
      const reply = await request({ port: admin, path: "/metrics" });
      expect(reply.status).toBe(200);
      return parseExposition(reply.text);
    };
    const labels = { pool: "web", source: "file" };

    const healthy = await stats();
    expect(healthy.fixed?.discovery).toBeUndefined();
    expect(healthy.web?.discovery).toMatchObject({
      source: "file",
      target: list,
      failures: 0,
      consecutiveFailures: 0,
      lastErrorAt: null,
      lastError: null,
      backends: 1,
    });
    const lastSuccessAt = healthy.web?.discovery?.lastSuccessAt as number;
    expect(lastSuccessAt).toBeGreaterThanOrEqual(startedAt);
    expect(lastSuccessAt).toBeLessThanOrEqual(Date.now());
    let metrics = await scrape();
    expect(
      metrics.value("switchyard_discovery_refreshes_total", { ...labels, result: "ok" }),
    ).toBeGreaterThan(0);
    expect(metrics.value("switchyard_discovery_refreshes_total", { ...labels, result: "error" })).toBe(0);
    expect(metrics.value("switchyard_discovery_backends", labels)).toBe(1);
    expect(
      metrics.value("switchyard_discovery_last_success_timestamp_seconds", labels),
    ).toBeGreaterThanOrEqual(lastSuccessAt / 1000);
    expect(metrics.all("switchyard_discovery_backends", { pool: "fixed" })).toEqual([]);

    // The file turns invalid: errors are counted, the last good backends stay.
    const failedAt = Date.now();
    await writeFile(list, "[not json");
    await waitFor(() => (runtime.discoveries.get("web")?.stats()?.failures ?? 0) >= 2, 5_000);
    const failing = (await stats()).web?.discovery;
    expect(failing).toMatchObject({
      source: "file",
      backends: 1,
      lastError: expect.stringMatching(/^invalid JSON: /),
    });
    expect(failing?.consecutiveFailures).toBeGreaterThanOrEqual(2);
    expect(failing?.lastErrorAt).toBeGreaterThanOrEqual(failedAt);
    expect(failing?.lastSuccessAt).toBeLessThan(failing?.lastErrorAt as number);
    expect(runtime.balancers.get("web")?.pool.backends.map((b) => b.id)).toEqual([one.address]);
    metrics = await scrape();
    expect(
      metrics.value("switchyard_discovery_refreshes_total", { ...labels, result: "error" }),
    ).toBeGreaterThanOrEqual(2);
    expect(metrics.value("switchyard_discovery_backends", labels)).toBe(1);
    expect(metrics.value("switchyard_discovery_last_success_timestamp_seconds", labels)).toBe(
      (failing?.lastSuccessAt as number) / 1000,
    );
  });

  it("swaps the source on reload: the new list's backends join, the old ones drain, static ones stay", async () => {
    const fixed = await backend("fixed");
    const one = await backend("one");
    const two = await backend("two");
    const first = await dir.file("reload-one.json", JSON.stringify([one.address]));
    const second = await dir.file("reload-two.json", JSON.stringify([two.address]));
    const raw = (discovery: unknown) => ({
      listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
      pools: {
        web: { backends: [{ address: fixed.address }], ...(discovery === undefined ? {} : { discovery }) },
      },
    });
    const runtime = await startSwitchyard(parseConfig(raw({ file: { path: first } })));
    cleanups.push(() => runtime.close(1_000));
    const pool = runtime.balancers.get("web")?.pool;
    expect(pool?.backends.map((b) => b.id)).toEqual([fixed.address, one.address]);

    const result = runtime.reload(parseConfig(raw({ file: { path: second } })));
    expect(result.summary).toBe(`pool "web": discovery → file ${second}`);
    expect(result.needsRestart).toEqual([]);
    await waitFor(() => pool?.get(one.address) === undefined, 5_000);
    expect(pool?.backends.map((b) => b.id)).toEqual([fixed.address, two.address]);
    expect(runtime.config.pools.web?.discovery?.file?.path).toBe(second);

    runtime.reload(parseConfig(raw(undefined)));
    await waitFor(() => pool?.size === 1, 5_000);
    expect(pool?.backends.map((b) => b.id)).toEqual([fixed.address]);
    expect(runtime.config.pools.web?.discovery).toBeUndefined();
  });
});
