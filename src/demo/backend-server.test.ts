import { afterEach, describe, expect, it } from "vitest";
import { isSwitchyardError } from "../core/errors.js";
import { DemoBackend, type DemoBackendOptions } from "./backend-server.js";

const started: DemoBackend[] = [];

afterEach(async () => {
  await Promise.all(started.splice(0).map((backend) => backend.close()));
});

async function start(
  options: Partial<DemoBackendOptions> = {},
): Promise<{ backend: DemoBackend; base: string }> {
  const backend = new DemoBackend({ name: "alpha", ...options });
  started.push(backend);
  const { host, port } = await backend.listen();
  return { backend, base: `http://${host}:${port}` };
}

async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Waits until `condition` holds, checking every 5 ms for at most 5 s. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

describe("DemoBackend", () => {
  it("answers any path with its name, the request and the forwarding headers", async () => {
    const { base, backend } = await start();
    const first = await getJson(`${base}/some/path?x=1`, { headers: { "x-forwarded-for": "10.0.0.7" } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      backend: "alpha",
      method: "GET",
      path: "/some/path?x=1",
      requests: 1,
      bodyBytes: 0,
      headers: { "x-forwarded-for": "10.0.0.7", host: `${backend.address.host}:${backend.address.port}` },
    });
    expect(first.body.headers).not.toHaveProperty("forwarded");

    const second = await getJson(`${base}/upload`, { method: "POST", body: "y".repeat(5000) });
    expect(second.body).toMatchObject({ backend: "alpha", method: "POST", requests: 2, bodyBytes: 5000 });
  });

  it("answers /health", async () => {
    const { base } = await start({ name: "beta" });
    expect(await getJson(`${base}/health`)).toEqual({ status: 200, body: { status: "ok", backend: "beta" } });
  });

  it("answers load probes with its real requests in flight and latency", async () => {
    const { base } = await start({ delayMs: 60, concurrency: 1 });
    expect(await getJson(`${base}/prequal-probe`)).toEqual({ status: 200, body: { rif: 0, latencyMs: 0 } });
    // Three requests at once on one worker: one in service, two waiting.
    const answers = Promise.all([1, 2, 3].map(() => getJson(`${base}/work`)));
    let busy = await getJson(`${base}/prequal-probe`);
    for (let i = 0; i < 100 && busy.body.rif !== 3; i++) busy = await getJson(`${base}/prequal-probe`);
    expect(busy.body.rif).toBe(3);
    await answers;
    const idle = await getJson(`${base}/prequal-probe`);
    expect(idle.body.rif).toBe(0);
    // At 0 in flight it answered in one delay; the estimate says so (the nearest filed RIF).
    expect(idle.body.latencyMs).toBeGreaterThanOrEqual(55);
    expect(idle.body.latencyMs).toBeLessThan(1000);
  });

  it("changes its delay live through /control", async () => {
    const { base, backend } = await start();
    const control = await getJson(`${base}/control?delay_ms=150`, { method: "POST" });
    expect(control).toEqual({ status: 200, body: { backend: "alpha", delayMs: 150, errorRate: 0 } });
    expect(backend.settings).toEqual({ delayMs: 150, errorRate: 0 });

    const begin = performance.now();
    const delayed = await getJson(`${base}/`);
    const elapsed = performance.now() - begin;
    expect(delayed.status).toBe(200);
    // Timers run on the loop's millisecond clock, which may trail the wall clock by up to 1 ms.
    expect(elapsed).toBeGreaterThanOrEqual(149);

    await getJson(`${base}/control?delay_ms=0`);
    expect(backend.settings.delayMs).toBe(0);
  });

  it("takes set_delay_ms as another name for delay_ms", async () => {
    const { base, backend } = await start();
    const control = await getJson(`${base}/control?set_delay_ms=120`);
    expect(control).toEqual({ status: 200, body: { backend: "alpha", delayMs: 120, errorRate: 0 } });
    expect(backend.settings.delayMs).toBe(120);
    const begin = performance.now();
    expect((await getJson(`${base}/`)).status).toBe(200);
    expect(performance.now() - begin).toBeGreaterThanOrEqual(119);
    const both = await getJson(`${base}/control?delay_ms=1&set_delay_ms=2`);
    expect(both).toMatchObject({ status: 400, body: { parameter: "set_delay_ms" } });
    expect(backend.settings.delayMs).toBe(120);
  });

  it("refuses an unknown control by name instead of ignoring it", async () => {
    const { base, backend } = await start({ delayMs: 5 });
    const unknown = await getJson(`${base}/control?delay_ms=50&slow=1`);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ parameter: "slow" });
    expect(unknown.body.error).toBe('unknown control "slow"; expected delay_ms, set_delay_ms, error_rate');
    const perRequest = await getJson(`${base}/control?delay=50`);
    expect(perRequest.body.error).toContain("GET /?delay=N");
    expect(backend.settings.delayMs).toBe(5);
  });

  it("delays one request by ?delay=N, leaving the others alone", async () => {
    const { base, backend } = await start({ delayMs: 300 });
    const begin = performance.now();
    const quick = await getJson(`${base}/work?delay=0`);
    expect(quick.status).toBe(200);
    expect(performance.now() - begin).toBeLessThan(250);
    const slowBegin = performance.now();
    expect((await getJson(`${base}/work?delay=400`)).status).toBe(200);
    expect(performance.now() - slowBegin).toBeGreaterThanOrEqual(399);
    expect(backend.settings.delayMs).toBe(300);
    const bad = await getJson(`${base}/work?delay=soon`);
    expect(bad).toMatchObject({ status: 400, body: { parameter: "delay" } });
  });

  it("fails every request with error_rate=1 and recovers with error_rate=0", async () => {
    const { base } = await start();
    expect((await getJson(`${base}/control?error_rate=1`)).body).toMatchObject({ errorRate: 1 });
    for (let i = 0; i < 3; i++) {
      expect(await getJson(`${base}/work`)).toEqual({
        status: 500,
        body: { backend: "alpha", error: "injected failure" },
      });
    }
    // Health and control are never failed by the injection.
    expect((await getJson(`${base}/health`)).status).toBe(200);
    await getJson(`${base}/control?error_rate=0`);
    expect((await getJson(`${base}/work`)).status).toBe(200);
  });

  it("uses the injected random source for partial error rates", async () => {
    const draws = [0.1, 0.9];
    let index = 0;
    const { base } = await start({ errorRate: 0.5, random: () => draws[index++ % draws.length] as number });
    expect((await getJson(`${base}/`)).status).toBe(500);
    expect((await getJson(`${base}/`)).status).toBe(200);
  });

  it("rejects bad control parameters with 400 naming the parameter, and keeps its settings", async () => {
    const { base, backend } = await start({ delayMs: 5, errorRate: 0.25 });
    const bad: Array<[string, string]> = [
      ["delay_ms=-1", "delay_ms"],
      ["delay_ms=1.5", "delay_ms"],
      ["delay_ms=60001", "delay_ms"],
      ["delay_ms=abc", "delay_ms"],
      ["delay_ms=", "delay_ms"],
      ["error_rate=1.01", "error_rate"],
      ["error_rate=-0.1", "error_rate"],
      ["error_rate=lots", "error_rate"],
      ["delay_ms=10&error_rate=2", "error_rate"],
    ];
    for (const [query, parameter] of bad) {
      const { status, body } = await getJson(`${base}/control?${query}`);
      expect(status, query).toBe(400);
      expect(body.parameter, query).toBe(parameter);
      expect(body.error, query).toContain(parameter);
    }
    expect(backend.settings).toEqual({ delayMs: 5, errorRate: 0.25 });
    expect((await fetch(`${base}/control`, { method: "DELETE" })).status).toBe(405);
  });

  it("validates its options", () => {
    const invalid = (options: DemoBackendOptions) => {
      try {
        new DemoBackend(options);
      } catch (error) {
        return isSwitchyardError(error, "SY_ERR_INVALID_OPTIONS");
      }
      return false;
    };
    expect(invalid({ name: "x", delayMs: -5 })).toBe(true);
    expect(invalid({ name: "x", errorRate: 3 })).toBe(true);
    expect(invalid({ name: "" })).toBe(true);
    for (const concurrency of [0, -1, 1.5, 100_001]) expect(invalid({ name: "x", concurrency })).toBe(true);
  });

  it("with concurrency N serves N requests at once and the rest in arrival order", async () => {
    const { base, backend } = await start({ delayMs: 150, concurrency: 2 });
    const begin = performance.now();
    const finished = Array.from({ length: 5 }, () =>
      fetch(`${base}/work`).then(async (response) => {
        await response.arrayBuffer();
        return performance.now() - begin;
      }),
    );
    await until(() => backend.queue.inService + backend.queue.waiting === 5);
    expect(backend.queue).toEqual({ inService: 2, waiting: 3 });
    const times = (await Promise.all(finished)).sort((a, b) => a - b);
    // Three rounds of 150 ms: the 3rd and 4th answers wait one round, the 5th two
    // (the timer clock may trail the wall clock by up to 1 ms per round).
    expect(times[2]).toBeGreaterThanOrEqual(298);
    expect(times[4]).toBeGreaterThanOrEqual(447);
    expect(backend.queue).toEqual({ inService: 0, waiting: 0 });
  });

  it("gives a waiting request's slot to the next one when its client leaves", async () => {
    const { base, backend } = await start({ delayMs: 500, concurrency: 1 });
    const begin = performance.now();
    const first = fetch(`${base}/a`).then((response) => response.json());
    await until(() => backend.queue.inService === 1);
    const leaving = new AbortController();
    const abandoned = fetch(`${base}/b`, { signal: leaving.signal }).catch(() => "aborted");
    await until(() => backend.queue.waiting === 1);
    leaving.abort();
    expect(await abandoned).toBe("aborted");
    const third = fetch(`${base}/c`).then(async (response) => ({
      body: await response.json(),
      at: performance.now() - begin,
    }));
    await until(() => backend.queue.waiting === 2);
    expect(await first).toMatchObject({ path: "/a" });
    const { body, at } = await third;
    expect(body).toMatchObject({ path: "/c" });
    // /c is served right after /a (two rounds of 500 ms), not after a third round for /b.
    expect(at).toBeGreaterThanOrEqual(998);
    expect(at).toBeLessThan(1400);
  });

  it("closes with requests waiting for a slot", async () => {
    const { base, backend } = await start({ delayMs: 10_000, concurrency: 1 });
    const pending = Array.from({ length: 3 }, () =>
      fetch(`${base}/slow`).then(
        () => "answered",
        () => "dropped",
      ),
    );
    await until(() => backend.queue.waiting === 2);
    await backend.close();
    expect(await Promise.all(pending)).toEqual(["dropped", "dropped", "dropped"]);
  });

  it("closes with a delayed request in flight", async () => {
    const { base, backend } = await start({ delayMs: 10_000 });
    const pending = fetch(`${base}/slow`).then(
      () => "answered",
      () => "dropped",
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const begin = Date.now();
    await backend.close();
    expect(Date.now() - begin).toBeLessThan(2000);
    expect(await pending).toBe("dropped");
  });
});
