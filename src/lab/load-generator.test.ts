import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type LoadProgress, runLoad, summarizeLatencies } from "./load-generator.js";

const servers: http.Server[] = [];

afterEach(async () => {
  for (let server = servers.pop(); server; server = servers.pop()) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe("runLoad", () => {
  it("sends at a fixed rate, evenly, and measures latency", async () => {
    const paths = new Set<string>();
    const url = await serve((req, res) => {
      paths.add(req.url ?? "");
      res.end("ok");
    });
    const progress: LoadProgress[] = [];
    const result = await runLoad({ url, path: "/x?y=1", mode: { rate: 100 }, durationMs: 500 }, (p) =>
      progress.push(p),
    );
    expect(result.sent).toBe(50);
    expect(result.completed).toBe(50);
    expect(result.errors).toBe(0);
    expect(result.unanswered).toBe(0);
    expect(result.statusClasses).toEqual({ "2xx": 50 });
    expect(result.durationMs).toBeGreaterThanOrEqual(480);
    expect(result.durationMs).toBeLessThan(1500);
    expect(result.latency.p50).toBeGreaterThan(0);
    expect(result.latency.max).toBeGreaterThanOrEqual(result.latency.p99);
    expect(result.aborted).toBe(false);
    expect([...paths]).toEqual(["/x?y=1"]);
    expect(progress.length).toBeGreaterThan(0);
  });

  it("runs N concurrent loops for the duration", async () => {
    let active = 0;
    let peak = 0;
    const url = await serve((_req, res) => {
      active++;
      peak = Math.max(peak, active);
      setTimeout(() => {
        active--;
        res.statusCode = 404;
        res.end();
      }, 5);
    });
    const result = await runLoad({ url, mode: { concurrency: 4 }, durationMs: 300 });
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThanOrEqual(2);
    expect(result.completed).toBeGreaterThan(20);
    expect(result.completed).toBe(result.sent);
    expect(result.statusClasses).toEqual({ "4xx": result.completed });
    expect(result.errors).toBe(0);
  });

  it("stops after the requested number of requests, in either mode", async () => {
    let served = 0;
    const url = await serve((_req, res) => {
      served++;
      res.end("ok");
    });
    const concurrent = await runLoad({ url, mode: { concurrency: 10 }, durationMs: 30_000, requests: 100 });
    expect(concurrent).toMatchObject({ sent: 100, completed: 100, errors: 0 });
    expect(concurrent.durationMs).toBeLessThan(10_000);
    const paced = await runLoad({ url, mode: { rate: 1_000 }, durationMs: 30_000, requests: 25 });
    expect(paced).toMatchObject({ sent: 25, completed: 25 });
    expect(served).toBe(125);
    await expect(runLoad({ url, mode: { rate: 1 }, durationMs: 10, requests: 0 })).rejects.toThrow(
      /requests must be a whole number/,
    );
  });

  it("counts 5xx answers as errors, apart from the requests never answered", async () => {
    let served = 0;
    const url = await serve((_req, res) => {
      res.statusCode = ++served % 4 === 0 ? 503 : 200;
      res.end();
    });
    const result = await runLoad({ url, mode: { concurrency: 1 }, durationMs: 300 });
    const failed = result.statusClasses["5xx"] ?? 0;
    expect(failed).toBe(Math.floor(served / 4));
    expect(failed).toBeGreaterThan(0);
    expect(result.errors).toBe(failed);
    expect(result.unanswered).toBe(0);
    expect(result.completed).toBe(result.sent);
  });

  it("counts timeouts and refused connections as errors", async () => {
    const url = await serve(() => {
      /* never answers */
    });
    const slow = await runLoad({ url, mode: { rate: 20 }, durationMs: 100, timeoutMs: 50 });
    expect(slow.sent).toBe(2);
    expect(slow.errors).toBe(2);
    expect(slow.unanswered).toBe(2);
    expect(slow.completed).toBe(0);
  });

  it("can be cancelled", async () => {
    const url = await serve((_req, res) => res.end("ok"));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    const started = Date.now();
    const result = await runLoad({ url, mode: { rate: 100 }, durationMs: 10_000, signal: controller.signal });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(result.aborted).toBe(true);
    expect(result.sent).toBeLessThan(40);
  });

  it("refuses non-loopback targets and bad options", async () => {
    const bad = [
      { url: "http://10.0.0.1:80", mode: { rate: 1 }, durationMs: 10 },
      { url: "http://example.com", mode: { rate: 1 }, durationMs: 10 },
      { url: "https://127.0.0.1:1", mode: { rate: 1 }, durationMs: 10 },
      { url: "http://127.0.0.1:1", mode: { rate: 0 }, durationMs: 10 },
      { url: "http://127.0.0.1:1", mode: { concurrency: 1, rate: 1 }, durationMs: 10 },
      { url: "http://127.0.0.1:1", mode: { rate: 1 }, durationMs: 60_001 },
      { url: "http://127.0.0.1:1", mode: { rate: 1 }, durationMs: 0 },
    ];
    for (const options of bad) {
      await expect(runLoad(options as never), JSON.stringify(options)).rejects.toMatchObject({
        code: "SY_ERR_INVALID_OPTIONS",
      });
    }
  });

  it("summarizes latencies exactly", () => {
    const values = Array.from({ length: 100 }, (_, index) => 100 - index);
    expect(summarizeLatencies(values)).toEqual({ p50: 50, p95: 95, p99: 99, max: 100, mean: 50.5 });
    expect(summarizeLatencies([])).toEqual({ p50: 0, p95: 0, p99: 0, max: 0, mean: 0 });
  });
});
