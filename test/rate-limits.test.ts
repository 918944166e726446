/**
 * Rate limits on an HTTP listener, configured as an operator would: past the
 * burst a client gets 429 with Retry-After and the RateLimit fields, then is
 * admitted again once its bucket refilled; a header key counts each value
 * apart; a route's limit replaces the listener's (or turns it off); behind a
 * trusted proxy the forwarded client is counted; redirects are not limited,
 * WebSocket upgrades are; refusals show in stats, /metrics and the access
 * log; config mistakes name the route.
 */
import { readFile } from "node:fs/promises";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../src/config/load.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { useCleanups } from "./helpers/fixtures.js";
import { rawRequest, request, startEchoServer, type TestResponse } from "./helpers/servers.js";

const cleanups = useCleanups();

/** A listener "edge" in front of one echo backend (pool "web"), with `listener` merged in. */
async function start(
  listener: Record<string, unknown>,
  logLines?: Record<string, unknown>[],
): Promise<{ runtime: Runtime; port: number }> {
  const backend = await startEchoServer("web");
  cleanups.push(() => backend.close());
  const logger =
    logLines === undefined
      ? undefined
      : pino({ level: "info" }, { write: (line: string) => logLines.push(JSON.parse(line)) });
  const config = parseConfig({
    listeners: [{ name: "edge", listen: "127.0.0.1:0", pool: "web", ...listener }],
    pools: { web: { backends: [{ id: "web", address: backend.address }] } },
    admin: { listen: "127.0.0.1:0" },
    log: { access: { sample: 1 } },
  });
  const runtime = await startSwitchyard(config, { logger });
  cleanups.push(() => runtime.close(200));
  return { runtime, port: runtime.listeners[0]?.port as number };
}

function get(port: number, path = "/", headers: Record<string, string> = {}): Promise<TestResponse> {
  return request({ port, path, headers });
}

/** Statuses of `count` requests sent one after another. */
async function statuses(port: number, count: number, path = "/", headers: Record<string, string> = {}) {
  const seen: number[] = [];
  for (let i = 0; i < count; i++) seen.push((await get(port, path, headers)).status);
  return seen;
}

async function admin(runtime: Runtime, path: string): Promise<string> {
  return (await request({ port: (runtime.admin as { port: number }).port, path })).text;
}

describe("rate limits", () => {
  it("rate limit 429s then recovers", async () => {
    const lines: Record<string, unknown>[] = [];
    const { runtime, port } = await start({ rateLimit: { rate: 5, burst: 3 } }, lines);

    // Sent at once: the burst is admitted, the fourth is refused (a token takes 200 ms to come back).
    const answers = await Promise.all([1, 2, 3, 4].map(() => get(port)));
    const refused = answers.filter((answer) => answer.status === 429);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(3);
    expect(refused).toHaveLength(1);
    const [answer] = refused as [TestResponse];
    expect(answer.headers["retry-after"]).toBe("1");
    expect(answer.headers["ratelimit-policy"]).toBe('"edge";q=5;w=1');
    expect(answer.headers.ratelimit).toMatch(/^"edge";r=0;t=1$/);
    expect(answer.headers["x-switchyard-error"]).toBe("SY_ERR_RATE_LIMITED");
    expect(JSON.parse(answer.text)).toMatchObject({ error: "SY_ERR_RATE_LIMITED" });
    // Admitted responses carry no quota fields unless `headers: true`.
    expect(answers.find((a) => a.status === 200)?.headers.ratelimit).toBeUndefined();

    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await get(port)).status).toBe(200);

    const stats = JSON.parse(await admin(runtime, "/api/stats")) as {
      listeners: Record<string, { routes: { name: string; requests: number; rateLimited: number }[] }>;
    };
    expect(stats.listeners.edge?.routes).toEqual([
      expect.objectContaining({ name: "default", requests: 5, rateLimited: 1 }),
    ]);
    const metrics = await admin(runtime, "/metrics");
    expect(metrics).toContain('switchyard_rate_limited_total{listener="edge",route="default"} 1');
    expect(metrics).toContain(
      'switchyard_listener_errors_total{listener="edge",pool="web",code="SY_ERR_RATE_LIMITED"} 1',
    );
    expect(lines.filter((line) => line.msg === "access" && line.status === 429)).toEqual([
      expect.objectContaining({ route: "default", code: "SY_ERR_RATE_LIMITED", attempts: 0 }),
    ]);
  });

  it("keeps a bucket per header value, and per client without the header", async () => {
    const { port } = await start({
      rateLimit: { rate: 1, periodMs: "1m", key: { header: "x-api-key" }, headers: true },
    });
    const alpha = await get(port, "/", { "x-api-key": "alpha" });
    expect(alpha.status).toBe(200);
    expect(alpha.headers.ratelimit).toBe('"edge";r=0;t=60');
    expect(alpha.headers["ratelimit-policy"]).toBe('"edge";q=1;w=60');
    const again = await get(port, "/", { "x-api-key": "alpha" });
    expect(again.status).toBe(429);
    expect(again.headers["retry-after"]).toBe("60");
    expect(await statuses(port, 2, "/", { "x-api-key": "beta" })).toEqual([200, 429]);
    expect(await statuses(port, 2)).toEqual([200, 429]);
  });

  it("lets a route replace the listener's limit or turn it off", async () => {
    const { runtime, port } = await start({
      rateLimit: { rate: 1, periodMs: "1m" },
      routes: [
        { name: "open", match: { pathPrefix: "/open" }, pool: "web", rateLimit: false },
        { name: "own", match: { pathPrefix: "/own" }, pool: "web", rateLimit: { rate: 3, periodMs: "1m" } },
        { name: "shared", match: { pathPrefix: "/shared" }, pool: "web" },
        { name: "moved", match: { path: "/old" }, redirect: { path: "/new" } },
      ],
    });
    expect(await statuses(port, 5, "/open")).toEqual([200, 200, 200, 200, 200]);
    expect(await statuses(port, 4, "/own")).toEqual([200, 200, 200, 429]);
    const own = await get(port, "/own");
    expect(own.headers["ratelimit-policy"]).toBe('"own";q=3;w=60');
    // The listener's limit is one bucket per client across the routes that inherit it.
    expect(await statuses(port, 1, "/")).toEqual([200]);
    expect(await statuses(port, 1, "/shared")).toEqual([429]);
    // Redirects are answered without a backend and not limited.
    expect(await statuses(port, 3, "/old")).toEqual([302, 302, 302]);
    const metrics = await admin(runtime, "/metrics");
    expect(metrics).toContain('switchyard_rate_limited_total{listener="edge",route="own"} 2');
    expect(metrics).toContain('switchyard_rate_limited_total{listener="edge",route="shared"} 1');
    expect(metrics).toContain('switchyard_rate_limited_total{listener="edge",route="open"} 0');
  });

  it("counts the client a trusted proxy forwarded", async () => {
    const { port } = await start({
      rateLimit: { rate: 1, periodMs: "1m", trustedProxies: ["127.0.0.0/8"] },
    });
    const via = (client: string) => ({ "x-forwarded-for": `${client}, 127.0.0.2` });
    expect(await statuses(port, 2, "/", via("192.0.2.1"))).toEqual([200, 429]);
    expect(await statuses(port, 2, "/", via("192.0.2.2"))).toEqual([200, 429]);
    // Nothing forwarded: the proxy itself is the client.
    expect(await statuses(port, 2)).toEqual([200, 429]);
  });

  it("answers a WebSocket upgrade over the limit with 429 and closes", async () => {
    const { port } = await start({ rateLimit: { rate: 1, periodMs: "1m" } });
    expect((await get(port)).status).toBe(200);
    const answer = await rawRequest(
      port,
      "GET /live HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 429 Too Many Requests\r\n/);
    expect(answer).toContain("retry-after: 60\r\n");
    expect(answer).toContain('ratelimit: "edge";r=0;t=60\r\n');
    expect(answer).toContain("x-switchyard-error: SY_ERR_RATE_LIMITED\r\n");
  });

  it("names the route or listener in config errors", () => {
    const problems = (listener: Record<string, unknown>) => {
      try {
        parseConfig({
          listeners: [{ name: "edge", listen: "127.0.0.1:0", pool: "web", ...listener }],
          pools: { web: { backends: [{ address: "127.0.0.1:9001" }] } },
        });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("the config was accepted");
    };
    const route = (rateLimit: unknown, extra: Record<string, unknown> = { pool: "web" }) => ({
      routes: [{ name: "api", match: { pathPrefix: "/api" }, ...extra, rateLimit }],
    });
    expect(problems(route({ rate: 0 }))).toContain(
      "listeners[0].routes[0].rateLimit.rate: expected a whole number from 1 to 1000000000",
    );
    expect(problems(route({ rate: 1, periodMs: "1500ms" }))).toContain(
      "listeners[0].routes[0].rateLimit.periodMs: expected whole seconds",
    );
    expect(problems({ rateLimit: { rate: 1, key: "cookie" } })).toContain(
      'listeners[0].rateLimit.key: expected "client-ip", "route" or { header: "<name>" }, found "cookie"',
    );
    expect(problems(route({ rate: 1, key: "cookie" }))).toContain(
      "listeners[0].routes[0].rateLimit: expected false, or an object { rate, periodMs",
    );
    expect(problems(route({ rate: 1, trustedProxies: ["10.0.0.0/40"] }))).toContain(
      "listeners[0].routes[0].rateLimit.trustedProxies[0]",
    );
    expect(problems(route({ rate: 1 }, { redirect: { path: "/v2" } }))).toContain(
      'listeners[0].routes[0].rateLimit: expected no rateLimit on redirect route "api"',
    );
    expect(problems({ protocol: "tcp", rateLimit: { rate: 1 } })).toContain(
      "listeners[0].rateLimit: expected no rateLimit on a tcp listener",
    );
  });

  it("shows a README example that validates", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("### Rate limits"));
    const example = parse(/```yaml\n([\s\S]*?)```/.exec(section)?.[1] as string);
    const config = parseConfig({ ...example, pools: { web: { backends: [{ address: "127.0.0.1:9001" }] } } });
    expect(config.listeners[0]?.rateLimit).toMatchObject({ rate: 100, periodMs: 1_000, burst: 200 });
    expect(config.listeners[0]?.routes?.[1]?.rateLimit).toBe(false);
  });
});
