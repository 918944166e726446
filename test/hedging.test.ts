/**
 * Hedged requests through the HTTP proxy, end to end: real backends on
 * 127.0.0.1 whose delay and failure mode a test switches at run time, ALPHA1
 * warmed past the 100 samples its hedge policy needs. Covers the hedge
 * answering a slow backend's request (which is cancelled there), the body
 * replayed to a hedge, POST never hedged, the budget, client aborts, failures
 * of one or both attempts, cleanup (timers, in-flight counts) and algorithms
 * that do not hedge.
 */
import http from "node:http";
import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import type { KnownAlgorithmSpec } from "../src/algorithms/registry.js";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { useCleanups } from "./helpers/fixtures.js";
import { request, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const cleanups = useCleanups();

const ALPHA1: KnownAlgorithmSpec = { name: "alpha1", hedge: { minDelayMs: 20, quantile: 0.5 } };
/** Enough fast requests for the hedge policy's 100 samples and a full budget (5 tokens). */
const WARM_UP = 120;

/** A backend whose answer a test controls: delay, or a reset after the delay. */
interface ControlledBackend extends TestServer {
  name: string;
  delayMs: number;
  /** `reset`: the connection is destroyed after the delay instead of answering. */
  mode: "answer" | "reset";
  /** Requests whose connection closed before the backend answered (cancelled by the proxy). */
  readonly cancelled: number;
  /** Called when a request arrives (its body read). */
  onRequest: (() => void) | undefined;
}

async function startControlled(name: string): Promise<ControlledBackend> {
  let cancelled = 0;
  const control = {
    delayMs: 0,
    mode: "answer" as "answer" | "reset",
    onRequest: undefined as (() => void) | undefined,
  };
  const server = await startServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      control.onRequest?.();
      const answer = (): void => {
        if (control.mode === "reset") {
          req.socket.destroy();
          return;
        }
        const body = JSON.stringify({ name, method: req.method, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { "content-type": "application/json", "x-backend": name });
        res.end(body);
      };
      if (control.delayMs === 0) {
        answer();
        return;
      }
      const timer = setTimeout(answer, control.delayMs);
      res.on("close", () => {
        if (res.writableFinished) return;
        clearTimeout(timer);
        if (control.mode === "answer") cancelled++;
      });
    });
  });
  cleanups.push(() => server.close());
  return Object.defineProperties(server as ControlledBackend, {
    name: { value: name },
    delayMs: { get: () => control.delayMs, set: (value: number) => (control.delayMs = value) },
    mode: { get: () => control.mode, set: (value: "answer" | "reset") => (control.mode = value) },
    onRequest: { get: () => control.onRequest, set: (value: () => void) => (control.onRequest = value) },
    cancelled: { get: () => cancelled },
  });
}

async function startProxy(
  backends: ControlledBackend[],
  algorithm: KnownAlgorithmSpec = ALPHA1,
  options: Partial<HttpProxyOptions> = {},
): Promise<{ proxy: HttpProxy; balancer: Balancer; port: number; agent: http.Agent }> {
  const balancer = createBalancer({
    backends: backends.map((backend) => ({ address: backend.address, id: backend.name })),
    algorithm,
  });
  const proxy = new HttpProxy({ balancer, ...options });
  const { port } = await proxy.listen();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  cleanups.push(() => proxy.close(200));
  cleanups.push(async () => agent.destroy());
  return { proxy, balancer, port, agent };
}

async function warm(port: number, agent: http.Agent, count = WARM_UP): Promise<void> {
  for (let i = 0; i < count; i++) expect((await request({ port, agent })).status).toBe(200);
}

/** Waits until nothing is in flight: proxy, balancer and every backend. */
async function settledEverywhere(proxy: HttpProxy, balancer: Balancer): Promise<void> {
  await waitFor(() => proxy.inFlight === 0 && balancer.stats().inFlight === 0);
  for (const backend of balancer.pool.backends) expect(backend.inFlight, backend.id).toBe(0);
  expect(proxy.stats().hedgeTimers).toBe(0);
}

/**
 * Makes `backend` slow, and weighs it far above the others so ALPHA1 sends
 * it every first attempt (cancelled hedges teach ALPHA1 nothing about it).
 */
function slowDown(balancer: Balancer, backend: ControlledBackend, delayMs: number): void {
  backend.delayMs = delayMs;
  balancer.pool.setWeight(backend.name, 1_000);
}

async function timed<T>(run: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await run();
  return { result, ms: performance.now() - started };
}

describe("HTTP proxy hedging", () => {
  it("answers a slow backend's requests from the hedge and cancels the slow attempt", async () => {
    const fast = await startControlled("fast");
    const slow = await startControlled("slow");
    const { proxy, balancer, port, agent } = await startProxy([fast, slow]);
    await warm(port, agent);
    expect(balancer.hedging?.delayMs()).toBe(20);
    // A hiccup over 20 ms while warming may already have hedged once.
    const { hedges, hedgeWins } = proxy.stats();

    slowDown(balancer, slow, 500);
    const timersAtArrival: number[] = [];
    slow.onRequest = () => timersAtArrival.push(proxy.stats().hedgeTimers);
    for (let i = 0; i < 3; i++) {
      const before = slow.requests;
      const { result, ms } = await timed(() => request({ port, agent }));
      expect(result.status).toBe(200);
      // The slow backend got the first attempt; the fast one answered the hedge...
      expect(slow.requests).toBe(before + 1);
      expect(result.headers["x-backend"]).toBe("fast");
      // ...after the delay (20 ms) plus a fast answer, nowhere near the slow backend's 500 ms.
      expect(ms).toBeGreaterThanOrEqual(19);
      expect(ms).toBeLessThan(250);
    }
    // The timer was armed while the slow backend held the first attempt.
    expect(timersAtArrival).toEqual([1, 1, 1]);
    expect(proxy.stats()).toMatchObject({ hedges: hedges + 3, hedgeWins: hedgeWins + 3 });
    expect(balancer.stats().hedges).toBe(hedges + 3);
    // Each slow attempt was aborted: its connection closed before the backend answered.
    await waitFor(() => slow.cancelled === 3);
    await settledEverywhere(proxy, balancer);
    // Cancelled losers are not held against the slow backend.
    expect(balancer.pool.require("slow").errors).toBe(0);
  });

  it("replays a kept request body to the hedge (PUT), and never hedges POST", async () => {
    const fast = await startControlled("fast");
    const slow = await startControlled("slow");
    const { proxy, balancer, port, agent } = await startProxy([fast, slow]);
    await warm(port, agent);
    const { hedges } = proxy.stats();
    slowDown(balancer, slow, 300);

    const body = `payload-${"x".repeat(1000)}`;
    const put = await timed(() => request({ port, agent, method: "PUT", body: [Buffer.from(body)] }));
    expect(put.result.status).toBe(200);
    expect(put.result.headers["x-backend"]).toBe("fast");
    expect(JSON.parse(put.result.text)).toMatchObject({ method: "PUT", body });
    expect(put.ms).toBeLessThan(200);
    expect(proxy.stats().hedges).toBe(hedges + 1);

    const post = await timed(() => request({ port, agent, method: "POST", body: "post" }));
    expect(post.result.status).toBe(200);
    expect(post.result.headers["x-backend"]).toBe("slow");
    expect(post.ms).toBeGreaterThanOrEqual(290);
    expect(proxy.stats().hedges).toBe(hedges + 1);
    expect(slow.requests).toBeGreaterThanOrEqual(2);
    await settledEverywhere(proxy, balancer);
  });

  it("does not hedge a body it cannot keep whole", async () => {
    const fast = await startControlled("fast");
    const slow = await startControlled("slow");
    const { proxy, balancer, port, agent } = await startProxy([fast, slow], ALPHA1, { retryBufferBytes: 16 });
    await warm(port, agent);
    const { hedges } = proxy.stats();
    slowDown(balancer, slow, 150);
    for (const body of [
      "declared longer than 16",
      [Buffer.from("chunked, "), Buffer.from("longer than 16")],
    ]) {
      const { result, ms } = await timed(() => request({ port, agent, method: "PUT", body }));
      expect(result.status).toBe(200);
      expect(result.headers["x-backend"]).toBe("slow");
      expect(ms).toBeGreaterThanOrEqual(140);
    }
    expect(proxy.stats().hedges).toBe(hedges);
    await settledEverywhere(proxy, balancer);
  });

  it("keeps hedges within the budget over many concurrent requests and cleans up every attempt", async () => {
    const fast = await startControlled("fast");
    const slow = await startControlled("slow");
    const { proxy, balancer, port, agent } = await startProxy([fast, slow]);
    await warm(port, agent);
    const warmHedges = proxy.stats().hedges;
    // Every first attempt goes to the slow backend, so only the budget holds hedges back.
    slowDown(balancer, slow, 40);

    const total = 300;
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < total) {
        sent++;
        expect((await request({ port, agent })).status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: 10 }, worker));
    const { hedges, hedgeWins } = proxy.stats();
    expect(hedges - warmHedges).toBeGreaterThanOrEqual(5);
    // Policy: hedges ≤ budget × requests since the start, and ≤ budget × (N + window) over any N.
    expect(hedges).toBeLessThanOrEqual(0.05 * (WARM_UP + total));
    expect(hedges).toBeLessThanOrEqual(0.05 * (total + 100));
    expect(hedgeWins).toBeLessThanOrEqual(hedges);
    expect(balancer.stats().hedges).toBe(hedges);
    await settledEverywhere(proxy, balancer);
    expect(proxy.stats().requests).toBe(WARM_UP + total);
  });

  it("cancels both attempts when the client goes away, and the timer when it leaves early", async () => {
    const a = await startControlled("a");
    const b = await startControlled("b");
    const { proxy, balancer, port, agent } = await startProxy([a, b]);
    await warm(port, agent);
    const { hedges } = proxy.stats();
    a.delayMs = 2_000;
    b.delayMs = 2_000;

    // After the hedge went out (20 ms): both attempts are open, both are cancelled.
    await expect(request({ port, timeoutMs: 150 })).rejects.toThrow();
    await waitFor(() => a.cancelled + b.cancelled === 2);
    expect(proxy.stats().hedges).toBe(hedges + 1);
    await settledEverywhere(proxy, balancer);

    // Before the delay is up: no hedge, the timer is cleared.
    await expect(request({ port, timeoutMs: 5 })).rejects.toThrow();
    await waitFor(() => a.cancelled + b.cancelled === 3);
    await settledEverywhere(proxy, balancer);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(proxy.stats().hedges).toBe(hedges + 1);
    expect(balancer.stats().errors).toBe(0);
  });

  it("lets the other attempt carry on when one fails, and fails over or answers 502 when both fail", async () => {
    const good = await startControlled("good");
    const bad = await startControlled("bad");
    const { proxy, balancer, port, agent } = await startProxy([good, bad]);
    await warm(port, agent);
    const start = proxy.stats();
    good.delayMs = 150;
    bad.delayMs = 5;
    bad.mode = "reset";

    // The bad backend has the first attempt and resets before the delay: usual failover, no hedge.
    balancer.pool.setWeight("bad", 1_000);
    const failover = await timed(() => request({ port, agent }));
    expect(failover.result.status).toBe(200);
    expect(failover.result.headers["x-backend"]).toBe("good");
    expect(proxy.stats()).toMatchObject({ hedges: start.hedges, retries: start.retries + 1 });
    await settledEverywhere(proxy, balancer);

    // The good backend has the first attempt, the bad one the hedge, which resets: the first carries on.
    balancer.pool.setWeight("bad", 1);
    balancer.pool.setWeight("good", 1_000);
    const carried = await timed(() => request({ port, agent }));
    expect(carried.result.status).toBe(200);
    expect(carried.result.headers["x-backend"]).toBe("good");
    expect(carried.ms).toBeGreaterThanOrEqual(140);
    expect(proxy.stats()).toMatchObject({
      hedges: start.hedges + 1,
      hedgeWins: start.hedgeWins,
      retries: start.retries + 1,
    });
    await settledEverywhere(proxy, balancer);

    // Both reset: the first at 40 ms (the hedge still open), then the hedge; nothing left to fail over to.
    good.mode = "reset";
    good.delayMs = 40;
    bad.delayMs = 40;
    const hedgesBefore = proxy.stats().hedges;
    const retriesBefore = proxy.stats().retries;
    const errorsBefore = balancer.stats().errors;
    const [goodBefore, badBefore] = [good.requests, bad.requests];
    const response = await request({ port, agent });
    expect([good.requests, bad.requests]).toEqual([goodBefore + 1, badBefore + 1]);
    expect(response.status).toBe(502);
    expect(response.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_RESET");
    expect(proxy.stats().hedges).toBe(hedgesBefore + 1);
    expect(proxy.stats().retries).toBe(retriesBefore);
    expect(balancer.stats().errors).toBe(errorsBefore + 2);
    await settledEverywhere(proxy, balancer);
  });

  it("never arms a timer for an algorithm that does not hedge", async () => {
    const fast = await startControlled("fast");
    const slow = await startControlled("slow");
    const { proxy, balancer, port, agent } = await startProxy([fast, slow], "round-robin");
    // Hedge timers armed when each request reaches its backend: 1 while a hedge is pending.
    const timersAtArrival: number[] = [];
    const record = (): void => {
      timersAtArrival.push(proxy.stats().hedgeTimers);
    };
    fast.onRequest = record;
    slow.onRequest = record;
    const send = async (count: number): Promise<number[]> => {
      timersAtArrival.length = 0;
      for (let i = 0; i < count; i++) expect((await request({ port, agent })).status).toBe(200);
      return [...timersAtArrival];
    };

    await warm(port, agent);
    slow.delayMs = 100;
    const { ms } = await timed(() => send(4));
    expect(ms).toBeGreaterThanOrEqual(200);
    expect(timersAtArrival).toEqual([0, 0, 0, 0]);
    expect(proxy.stats().hedges).toBe(0);

    // Hedging follows setAlgorithm: a warmed ALPHA1 arms one per request, round-robin none again.
    slow.delayMs = 0;
    balancer.setAlgorithm(ALPHA1);
    await warm(port, agent);
    expect(await send(3)).toEqual([1, 1, 1]);
    balancer.setAlgorithm("round-robin");
    expect(balancer.hedging).toBeUndefined();
    expect(await send(3)).toEqual([0, 0, 0]);

    // ALPHA1 with hedging disabled never arms one either, slow backend or not.
    balancer.setAlgorithm({ name: "alpha1", hedge: { enabled: false, minDelayMs: 20, quantile: 0.5 } });
    await warm(port, agent);
    const hedgesBefore = proxy.stats().hedges;
    slow.delayMs = 100;
    expect(await send(6)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(proxy.stats()).toMatchObject({ hedges: hedgesBefore, hedgeTimers: 0 });
    await settledEverywhere(proxy, balancer);
  });
});
