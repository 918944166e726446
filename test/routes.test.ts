/**
 * Routes on an HTTP listener, configured as an operator would: host (exact
 * and wildcard), path (exact, prefix, regex), method, header and query
 * matches send requests to different pools, first match wins, the rest go to
 * the listener's pool; per route, the path is rewritten, headers are edited
 * both ways, redirects are answered without a backend, and the response
 * timeout is the route's. The route is named in stats, /metrics, the access
 * log and explain; config mistakes name the route.
 */
import http2 from "node:http2";
import net from "node:net";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { useCleanups } from "./helpers/fixtures.js";
import {
  type EchoReply,
  LOCALHOST,
  request,
  startEchoServer,
  startServer,
  type TestServer,
  waitFor,
} from "./helpers/servers.js";

const cleanups = useCleanups();

async function echo(name: string): Promise<TestServer> {
  const server = await startEchoServer(name);
  cleanups.push(() => server.close());
  return server;
}

async function start(
  config: Record<string, unknown>,
  logLines?: Record<string, unknown>[],
): Promise<Runtime> {
  const logger =
    logLines === undefined
      ? undefined
      : pino({ level: "info" }, { write: (line: string) => logLines.push(JSON.parse(line)) });
  const runtime = await startSwitchyard(parseConfig(config), { logger });
  cleanups.push(() => runtime.close(200));
  return runtime;
}

async function get(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{ status: number; headers: Record<string, unknown>; reply: EchoReply | undefined }> {
  const response = await request({ port, path, headers, method });
  const json = response.headers["content-type"] === "application/json" && response.status === 200;
  return {
    status: response.status,
    headers: response.headers,
    reply: json ? (JSON.parse(response.text) as EchoReply) : undefined,
  };
}

describe("listener routes", () => {
  it("sends each request to the first route that matches, with its rewrites, and the rest to the listener's pool", async () => {
    const [web, api, tenants, canary] = (await Promise.all(
      ["web", "api", "tenants", "canary"].map(echo),
    )) as [TestServer, TestServer, TestServer, TestServer];
    const lines: Record<string, unknown>[] = [];
    const runtime = await start(
      {
        listeners: [
          {
            name: "edge",
            listen: "127.0.0.1:0",
            pool: "web",
            routes: [
              {
                name: "api",
                match: { host: "api.test", pathPrefix: "/v1" },
                pool: "api",
                stripPrefix: "/v1",
                addPrefix: "/internal",
                requestHeaders: { set: { "x-route": "api" }, remove: ["x-debug"] },
                responseHeaders: { set: { "x-served-by": "api" }, remove: ["x-backend"] },
              },
              { name: "tenants", match: { host: ["*.tenants.test"] }, pool: "tenants" },
              { name: "canary", match: { headers: { "x-canary": "1" }, methods: ["GET"] }, pool: "canary" },
              { name: "search", match: { pathRegex: "/search/[0-9]+", query: { debug: "1" } }, pool: "api" },
              { name: "moved", match: { path: "/old" }, redirect: { path: "/new", status: 301 } },
              { name: "login", match: { host: "login.test" }, redirect: { scheme: "https" } },
            ],
          },
        ],
        pools: {
          web: { backends: [{ id: "web", address: web.address }] },
          api: { backends: [{ id: "api", address: api.address }] },
          tenants: { backends: [{ id: "tenants", address: tenants.address }] },
          canary: { backends: [{ id: "canary", address: canary.address }] },
        },
        admin: { listen: "127.0.0.1:0" },
        log: { access: { sample: 1 } },
      },
      lines,
    );
    const port = runtime.listeners[0]?.port as number;

    const viaApi = await get(port, "/v1/users?id=7", {
      host: "API.test:8080",
      "x-debug": "yes",
      "x-route": "client",
    });
    expect(viaApi.reply).toMatchObject({ name: "api", url: "/internal/users?id=7" });
    expect(viaApi.reply?.headers["x-route"]).toBe("api");
    expect(viaApi.reply?.headers["x-debug"]).toBeUndefined();
    expect(viaApi.headers["x-served-by"]).toBe("api");
    expect(viaApi.headers["x-backend"]).toBeUndefined();
    // A prefix matches whole segments only; the host must match too.
    expect((await get(port, "/v1x", { host: "api.test" })).reply?.name).toBe("web");
    expect((await get(port, "/v1/users", { host: "www.test" })).reply?.name).toBe("web");
    expect((await get(port, "/v1", { host: "api.test" })).reply?.url).toBe("/internal/");

    expect((await get(port, "/", { host: "a.tenants.test" })).reply?.name).toBe("tenants");
    expect((await get(port, "/", { host: "x.y.tenants.test" })).reply?.name).toBe("tenants");
    expect((await get(port, "/", { host: "tenants.test" })).reply?.name).toBe("web");

    expect((await get(port, "/", { "x-canary": "1" })).reply?.name).toBe("canary");
    expect((await get(port, "/", { "x-canary": "1" }, "DELETE")).reply?.name).toBe("web");
    expect((await get(port, "/", { "x-canary": "0" })).reply?.name).toBe("web");

    expect((await get(port, "/search/42?debug=1")).reply).toMatchObject({
      name: "api",
      url: "/search/42?debug=1",
    });
    expect((await get(port, "/search/42?debug=0")).reply?.name).toBe("web");
    expect((await get(port, "/search/4x2?debug=1")).reply?.name).toBe("web");

    const moved = await get(port, "/old?x=1", { host: "shop.test:8080" });
    expect(moved.status).toBe(301);
    expect(moved.headers.location).toBe("http://shop.test:8080/new?x=1");
    const login = await get(port, "/form", { host: "login.test:8080" });
    expect(login.status).toBe(302);
    expect(login.headers.location).toBe("https://login.test/form");

    // Stats, /metrics, the access log and explain name the route.
    const stats = runtime.listeners.length > 0 ? await adminJson(runtime, "/api/stats") : undefined;
    const routes = (stats as { listeners: Record<string, { routes: { name: string; requests: number }[] }> })
      .listeners.edge?.routes;
    expect(routes?.map((route) => [route.name, route.requests])).toEqual([
      ["api", 2],
      ["tenants", 2],
      ["canary", 1],
      ["search", 1],
      ["moved", 1],
      ["login", 1],
      ["default", 7],
    ]);
    const metrics = await adminText(runtime, "/metrics");
    expect(metrics).toContain('switchyard_route_requests_total{listener="edge",route="api",pool="api"} 2');
    expect(metrics).toContain(
      'switchyard_route_requests_total{listener="edge",route="default",pool="web"} 7',
    );
    expect(lines.find((line) => line.path === "/v1/users?id=7")).toMatchObject({
      route: "api",
      backend: "api",
    });
    const explain = runtime.balancers.get("api")?.metrics?.recentDecisions(1)[0];
    expect(explain).toMatchObject({ route: "search", backend: "api" });
  });

  it("applies a route's own response timeout", async () => {
    const slow = await startServer((_req, res) => {
      setTimeout(() => res.end("late"), 400);
    });
    cleanups.push(() => slow.close());
    const runtime = await start({
      listeners: [
        {
          name: "edge",
          listen: "127.0.0.1:0",
          pool: "slow",
          routes: [
            { name: "hurry", match: { pathPrefix: "/hurry" }, pool: "slow", timeoutMs: 100, maxRetries: 0 },
          ],
        },
      ],
      pools: {
        slow: { backends: [{ address: slow.address }], outlierDetection: false, circuitBreaker: false },
      },
    });
    const port = runtime.listeners[0]?.port as number;
    const hurried = await request({ port, path: "/hurry" });
    expect(hurried.status).toBe(504);
    expect(hurried.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_TIMEOUT");
    expect((await request({ port, path: "/patient" })).text).toBe("late");
  });

  it("tunnels a WebSocket upgrade through the route's pool with its rewrites", async () => {
    let seen = "";
    const ws = await startServer((_req, res) => res.end());
    ws.server.on("upgrade", (req, socket: net.Socket) => {
      seen = `${req.url} ${String(req.headers["x-route"])}`;
      socket.end("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
    });
    cleanups.push(() => ws.close());
    const web = await echo("web");
    const runtime = await start({
      listeners: [
        {
          name: "edge",
          listen: "127.0.0.1:0",
          pool: "web",
          routes: [
            {
              name: "live",
              match: { pathPrefix: "/live" },
              pool: "ws",
              stripPrefix: "/live",
              requestHeaders: { set: { "x-route": "live" } },
            },
          ],
        },
      ],
      pools: { web: { backends: [{ address: web.address }] }, ws: { backends: [{ address: ws.address }] } },
    });
    const port = runtime.listeners[0]?.port as number;
    const answer = await new Promise<string>((resolve) => {
      const socket = net.connect({ host: LOCALHOST, port }, () =>
        socket.write("GET /live/feed HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"),
      );
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk.toString();
      });
      socket.on("close", () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(seen).toBe("/feed live");
  });

  it("answers 404 SY_ERR_NO_ROUTE on a listener without a default pool, over HTTP/1.1 and HTTP/2, counted and logged", async () => {
    const api = await echo("api");
    const lines: Record<string, unknown>[] = [];
    const runtime = await start(
      {
        admin: { listen: "127.0.0.1:0" },
        log: { access: { enabled: true } },
        listeners: [
          {
            name: "edge",
            listen: "127.0.0.1:0",
            h2c: true,
            routes: [{ name: "api", match: { pathPrefix: "/api" }, pool: "api" }],
          },
        ],
        pools: { api: { backends: [{ address: api.address }] } },
      },
      lines,
    );
    const port = runtime.listeners[0]?.port ?? 0;
    expect((await get(port, "/api/x")).reply?.name).toBe("api");
    const missed = await request({ port, path: "/other" });
    expect(missed.status).toBe(404);
    expect(missed.headers["x-switchyard-error"]).toBe("SY_ERR_NO_ROUTE");
    expect(JSON.parse(missed.text)).toMatchObject({ error: "SY_ERR_NO_ROUTE" });

    const session = http2.connect(`http://${LOCALHOST}:${port}`);
    const h2 = await new Promise<{ status: unknown; code: unknown }>((resolve, reject) => {
      const stream = session.request({ ":path": "/else" });
      stream.on("response", (headers) =>
        resolve({ status: headers[":status"], code: headers["x-switchyard-error"] }),
      );
      stream.on("error", reject);
      stream.resume();
    });
    session.close();
    expect(h2).toEqual({ status: 404, code: "SY_ERR_NO_ROUTE" });

    const stats = (await adminJson(runtime, "/api/stats")) as {
      listeners: { edge: { errors: Record<string, number>; statusClasses: Record<string, number> } };
    };
    expect(stats.listeners.edge.errors).toEqual({ SY_ERR_NO_ROUTE: 2 });
    expect(stats.listeners.edge.statusClasses["4xx"]).toBe(2);
    const metrics = await adminText(runtime, "/metrics");
    expect(metrics).toContain(
      'switchyard_listener_errors_total{listener="edge",pool="",code="SY_ERR_NO_ROUTE"} 2',
    );
    await waitFor(() => lines.filter((line) => line.code === "SY_ERR_NO_ROUTE").length === 2, 2_000);
    expect(lines.find((line) => line.path === "/other")).toMatchObject({ status: 404, msg: "access" });

    // Only an http listener with routes may go without a pool.
    expect(() =>
      parseConfig({
        listeners: [{ name: "edge", listen: "127.0.0.1:0" }],
        pools: { api: { backends: [{ address: "127.0.0.1:9002" }] } },
      }),
    ).toThrow(/listeners\[0\]\.pool: missing; expected a pool: only an http listener with routes/);
  });

  it("names the route in config errors: unknown pool, duplicate or reserved name, unreachable, pool and redirect", () => {
    const config = (routes: unknown[], protocol = "http") => ({
      listeners: [{ name: "edge", protocol, listen: "127.0.0.1:0", pool: "web", routes }],
      pools: {
        web: { backends: [{ address: "127.0.0.1:9001" }] },
        api: { backends: [{ address: "127.0.0.1:9002" }] },
      },
    });
    const problems = (routes: unknown[], protocol?: string) => {
      try {
        parseConfig(config(routes, protocol));
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("the config was accepted");
    };
    expect(problems([{ name: "a", match: { path: "/a" }, pool: "apj" }])).toMatch(
      /listeners\[0\]\.routes\[0\]\.pool: expected the name of a pool .*did you mean "api"/,
    );
    expect(
      problems([
        { name: "a", match: { path: "/a" }, pool: "api" },
        { name: "a", match: { path: "/b" }, pool: "api" },
      ]),
    ).toContain('listeners[0].routes[1].name: expected a unique route name; "a" is also routes[0]');
    expect(problems([{ name: "default", pool: "api" }])).toContain('route name other than "default"');
    expect(
      problems([
        { name: "all", pool: "api" },
        { name: "later", match: { path: "/b" }, pool: "web" },
      ]),
    ).toContain(
      "listeners[0].routes[1]: expected a reachable route, but routes[0] has no match and takes every request",
    );
    expect(
      problems([
        { name: "a", match: { pathPrefix: "/a" }, pool: "api" },
        { name: "b", match: { pathPrefix: "/a" }, pool: "web" },
      ]),
    ).toContain(
      "listeners[0].routes[1].match: expected a reachable route, but routes[0] matches the same requests",
    );
    expect(problems([{ name: "a", pool: "api", redirect: { path: "/x" } }])).toContain(
      "expected a route with either a pool or a redirect",
    );
    expect(problems([{ name: "a", match: { path: "/a", pathPrefix: "/a" }, pool: "api" }])).toContain(
      "expected at most one of path, pathPrefix and pathRegex",
    );
    expect(problems([{ name: "a", match: { pathRegex: "(" }, pool: "api" }])).toContain(
      "expected a regular expression",
    );
    expect(
      problems([{ name: "a", pool: "api", requestHeaders: { set: { "x-a": "b\r\nx-evil: 1" } } }]),
    ).toContain("expected a header value without line breaks");
    expect(problems([{ name: "a", match: { path: "/a" }, pool: "api" }], "tcp")).toContain(
      "expected no routes on a tcp listener",
    );
  });
});

async function adminJson(runtime: Runtime, path: string): Promise<unknown> {
  return JSON.parse(await adminText(runtime, path));
}

async function adminText(runtime: Runtime, path: string): Promise<string> {
  const admin = runtime.admin as { port: number };
  return (await request({ port: admin.port, path })).text;
}
