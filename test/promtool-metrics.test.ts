/**
 * A real `/metrics` scrape as Prometheus would take it: a running proxy
 * (listener, two backends, admin API with process metrics) after traffic, a
 * config reload applied and one rejected. `promtool check metrics` must find
 * nothing to report, the latency histograms must add up to the requests
 * sent, and the instance families (build info, reloads, bytes, discovery)
 * must say what happened.
 */
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { reloadFromFile } from "../src/config/reload.js";
import { packageVersion } from "../src/core/version.js";
import { silentLogger } from "../src/observability/logger.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { parseExposition, readHistogram } from "./helpers/exposition.js";
import { useTempDir } from "./helpers/fixtures.js";
import { request, startEchoServer, type TestServer } from "./helpers/servers.js";
import { runTool } from "./helpers/tools.js";

const REQUESTS = 25;
const dir = useTempDir("switchyard-promtool-");

let runtime: Runtime | undefined;
const backends: TestServer[] = [];

afterEach(async () => {
  await runtime?.close(0);
  runtime = undefined;
  for (const backend of backends.splice(0)) await backend.close();
});

async function start(): Promise<Runtime> {
  backends.push(await startEchoServer("a"), await startEchoServer("b"));
  // A pool fed by discovery, so its families are checked too.
  const listed = await dir.file("listed.json", JSON.stringify([backends[0]?.address]));
  const config = parseConfig({
    listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web" }],
    pools: {
      web: { backends: backends.map((backend, index) => ({ id: `b${index}`, address: backend.address })) },
      listed: { discovery: { file: { path: listed } } },
    },
    admin: { listen: "127.0.0.1:0" },
  });
  runtime = await startSwitchyard(config);
  return runtime;
}

describe("a real /metrics scrape", () => {
  it("passes promtool check metrics with no findings, and its histograms count every request", async () => {
    const proxy = await start();
    const port = proxy.listeners[0]?.port as number;
    let bodyBytes = 0;
    for (let index = 0; index < REQUESTS; index++) {
      const response = await request({ port, path: `/item/${index}` });
      expect(response.status).toBe(200);
      bodyBytes += Buffer.byteLength(response.text);
    }
    // One reload applied (a weight change), one rejected (the file no longer parses).
    const startedAt = proxy.reloads.lastAppliedAt;
    const reweighted = structuredClone(proxy.config);
    (reweighted.pools.web?.backends[0] as { weight: number }).weight = 3;
    proxy.reload(reweighted);
    const rejected = await reloadFromFile(
      proxy,
      () => Promise.reject(new Error("cannot parse")),
      silentLogger,
    );
    expect(rejected).toBeUndefined();

    const scrape = await request({ port: proxy.admin?.port as number, path: "/metrics" });
    expect(scrape.status).toBe(200);
    const lint = await runTool("promtool", ["check", "metrics"], scrape.text);
    expect({ code: lint.code, findings: `${lint.stdout}${lint.stderr}` }).toEqual({ code: 0, findings: "" });

    const metrics = parseExposition(scrape.text);
    const pool = readHistogram(metrics, "switchyard_pool_response_duration_seconds", { pool: "web" });
    expect(pool.count).toBe(REQUESTS);
    expect(pool.sum).toBeGreaterThan(0);
    const perBackend = ["b0", "b1"].map(
      (backend) =>
        readHistogram(metrics, "switchyard_response_duration_seconds", { pool: "web", backend }).count,
    );
    expect(perBackend.reduce((total, count) => total + count, 0)).toBe(REQUESTS);

    expect(
      metrics.value("switchyard_build_info", { version: packageVersion(), node_version: process.version }),
    ).toBe(1);
    expect(metrics.value("switchyard_config_reloads_total", { result: "success" })).toBe(1);
    expect(metrics.value("switchyard_config_reloads_total", { result: "failure" })).toBe(1);
    const reloadedAt = metrics.value("switchyard_config_last_reload_success_timestamp_seconds") as number;
    expect(reloadedAt).toBeGreaterThanOrEqual(startedAt / 1000);
    expect(reloadedAt).toBeLessThanOrEqual(Date.now() / 1000);

    const bytes = (name: string) =>
      metrics.all(name, { listener: "web", pool: "web" }).reduce((total, sample) => total + sample.value, 0);
    // Every response body came through, with its head; every request head went out.
    expect(bytes("switchyard_response_bytes_total")).toBeGreaterThan(bodyBytes);
    expect(bytes("switchyard_request_bytes_total")).toBeGreaterThan(
      REQUESTS * "GET /item/0 HTTP/1.1\r\n".length,
    );
    expect(metrics.value("switchyard_listener_requests_total", { listener: "web", pool: "web" })).toBe(
      REQUESTS,
    );
    const discovered = { pool: "listed", source: "file" };
    expect(
      metrics.value("switchyard_discovery_refreshes_total", { ...discovered, result: "ok" }),
    ).toBeGreaterThan(0);
    expect(metrics.value("switchyard_discovery_backends", discovered)).toBe(1);
  });
});
