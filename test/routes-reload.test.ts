/**
 * A listener's routes and rate limit reloaded in place from the config file:
 * new requests follow the new table while a request in flight finishes on
 * the route it started on, a kept route keeps its counters and an unchanged
 * limit its buckets, a route to a pool that is not running is refused with
 * the running table kept, the default pool moves in place, and other
 * listener changes still need a restart.
 */
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { resolveConfig } from "../src/config/load.js";
import { type ReloadResult, reloadFromFile } from "../src/config/reload.js";
import { watchFile } from "../src/core/watch-file.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { request, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Answers its name and the path it got; `/slow` after `delayMs`. */
async function backend(name: string, delayMs = 0): Promise<TestServer> {
  const server = await startServer((req, res) => {
    const answer = () => res.end(`${name} ${req.url}`);
    if (req.url === "/slow") setTimeout(answer, delayMs);
    else answer();
  });
  cleanups.push(() => server.close());
  return server;
}

/** A runtime started from `resolve()`, closed after the test; `get` answers "status body". */
async function startFrom(resolve: () => ReturnType<typeof resolveConfig>) {
  const runtime = await startSwitchyard(await resolve());
  cleanups.push(() => runtime.close(1_000));
  const port = runtime.listeners[0]?.port ?? 0;
  const get = async (path: string) => {
    const response = await request({ port, path });
    return `${response.status} ${response.text}`;
  };
  return { runtime, get };
}

interface RouteStat {
  name: string;
  requests: number;
  rateLimited: number;
}

async function routeStats(runtime: Runtime): Promise<RouteStat[]> {
  const admin = runtime.admin as { port: number };
  const stats = JSON.parse((await request({ port: admin.port, path: "/api/stats" })).text) as {
    listeners: Record<string, { routes: RouteStat[] }>;
  };
  return stats.listeners.web?.routes ?? [];
}

describe("routes on reload", () => {
  it("swaps the route table in place, keeps counters, buckets and requests in flight, refuses unknown pools", async () => {
    const main = await backend("main");
    const api = await backend("api", 800);
    const config = (routes: unknown[], listen = "127.0.0.1:0", pools: Record<string, unknown> = {}) => ({
      admin: { listen: "127.0.0.1:0" },
      listeners: [{ name: "web", listen, pool: "main", routes }],
      pools: {
        main: { backends: [{ address: main.address }] },
        api: { backends: [{ address: api.address }] },
        ...pools,
      },
    });
    const limit = { rate: 1, periodMs: 60_000, burst: 2, key: "route" };
    const apiRoute = { name: "api", match: { pathPrefix: "/api" }, pool: "api", stripPrefix: "/api" };
    const limited = { name: "limited", match: { path: "/limited" }, pool: "api", rateLimit: limit };
    const old = { name: "old", match: { pathPrefix: "/old" }, pool: "api" };

    const dir = await mkdtemp(join(tmpdir(), "switchyard-routes-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "switchyard.json");
    const write = async (raw: unknown) => {
      const temp = join(dir, `.tmp-${Date.now()}`);
      await writeFile(temp, JSON.stringify(raw));
      await rename(temp, file);
    };
    await write(config([apiRoute, limited, old]));
    const resolve = () => resolveConfig({ file });
    const { runtime, get } = await startFrom(resolve);

    expect(await get("/api/users")).toBe("200 api /users");
    expect(await get("/old/x")).toBe("200 api /old/x");
    expect(await get("/limited")).toBe("200 api /limited");
    expect(await get("/limited")).toBe("200 api /limited");
    expect(await get("/limited")).toMatch(/^429 .*SY_ERR_RATE_LIMITED/);
    // Taken by the "api" route (its prefix stripped) before the reload.
    const inFlight = get("/api/slow");
    await waitFor(() => (runtime.balancers.get("api")?.pool.backends[0]?.inFlight ?? 0) > 0, 2_000);

    // The file changes: "api" matches /v2 instead, "old" is gone, "new" is added; the limit is the same.
    const errors: string[] = [];
    const logger = { info: () => {}, warn: () => {}, error: (_: object, msg: string) => errors.push(msg) };
    let reloaded: ReloadResult | undefined;
    const stop = watchFile(
      file,
      async () => {
        reloaded = await reloadFromFile(runtime, resolve, logger);
      },
      logger,
      { debounceMs: 50, sighup: false },
    );
    const v2 = { ...apiRoute, match: { pathPrefix: "/v2" }, stripPrefix: "/v2" };
    const added = { name: "new", match: { path: "/fresh" }, pool: "api", addPrefix: "/added" };
    await write(config([added, v2, limited]));
    await waitFor(() => reloaded !== undefined, 5_000);
    stop();
    expect(reloaded?.summary).toBe('listener "web": routes changed');

    expect(await get("/v2/users")).toBe("200 api /users");
    expect(await get("/api/users")).toBe("200 main /api/users");
    expect(await get("/old/x")).toBe("200 main /old/x");
    expect(await get("/fresh")).toBe("200 api /added/fresh");
    // The unchanged limit kept its buckets: still refused.
    expect(await get("/limited")).toMatch(/^429 /);
    // The request in flight finished on the route it started on.
    expect(await inFlight).toBe("200 api /slow");
    expect(await routeStats(runtime)).toMatchObject([
      { name: "new", pool: "api", match: "/fresh", requests: 1, rateLimited: 0 },
      { name: "api", pool: "api", match: "/v2/*", requests: 3, rateLimited: 0 },
      { name: "limited", pool: "api", requests: 4, rateLimited: 2 },
      { name: "default", pool: "main", requests: 2, rateLimited: 0 },
    ]);

    // A changed limit starts afresh.
    const relimited = { ...limited, rateLimit: { ...limit, burst: 3 } };
    const changed = await reloadFromFile(
      runtime,
      async () => {
        await write(config([added, v2, relimited]));
        return resolve();
      },
      logger,
    );
    expect(changed?.summary).toBe('listener "web": routes changed');
    expect(await get("/limited")).toBe("200 api /limited");

    // A route to a pool this reload adds is refused; the running table stays.
    const extra = await backend("extra");
    const refused = await reloadFromFile(
      runtime,
      async () => {
        const toExtra = { name: "extra", match: { path: "/extra" }, pool: "extra" };
        await write(config([toExtra], "127.0.0.1:0", { extra: { backends: [{ address: extra.address }] } }));
        return resolve();
      },
      logger,
    );
    expect(refused?.needsRestart).toEqual([
      'listener "web": routes not applied: route "extra" names pool "extra", which is not running (a pool added by reload needs a restart)',
      'pool "extra" added',
    ]);
    expect(await get("/extra")).toBe("200 main /extra");
    expect(await get("/v2/a")).toBe("200 api /a");
    expect(runtime.config.listeners[0]?.routes?.map((route) => route.name)).toEqual([
      "new",
      "api",
      "limited",
    ]);

    // Another listener setting still needs a restart.
    const moved = await reloadFromFile(
      runtime,
      async () => {
        await write(config([added, v2, relimited], "127.0.0.1:1"));
        return resolve();
      },
      logger,
    );
    expect(moved?.needsRestart).toEqual(['listener "web" changed']);
    expect(errors).toEqual([]);
    expect(runtime.config.listeners[0]?.listen).toBe("127.0.0.1:0");
  }, 20_000);

  it("moves a listener's default pool in place, to another running pool or to none (404)", async () => {
    const blue = await backend("blue");
    const green = await backend("green");
    const dir = await mkdtemp(join(tmpdir(), "switchyard-default-pool-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "switchyard.json");
    const write = (pool: string | undefined, routes: unknown[] = []) =>
      writeFile(
        file,
        JSON.stringify({
          listeners: [
            { name: "web", listen: "127.0.0.1:0", ...(pool === undefined ? {} : { pool }), routes },
          ],
          pools: {
            blue: { backends: [{ address: blue.address }] },
            green: { backends: [{ address: green.address }] },
          },
        }),
      );
    await write("blue");
    const resolve = () => resolveConfig({ file });
    const { runtime, get } = await startFrom(resolve);
    const logger = { info: () => {}, warn: () => {}, error: () => {} };
    const reload = (pool: string | undefined, routes?: unknown[]) =>
      reloadFromFile(
        runtime,
        async () => {
          await write(pool, routes);
          return resolve();
        },
        logger,
      );

    expect(await get("/x")).toBe("200 blue /x");
    const toGreen = await reload("green");
    expect(toGreen?.summary).toBe('listener "web": pool changed');
    expect(toGreen?.needsRestart).toEqual([]);
    expect(await get("/x")).toBe("200 green /x");
    expect(runtime.config.listeners[0]?.pool).toBe("green");

    // No default pool: what no route takes gets 404; the routes still work.
    const toNone = await reload(undefined, [{ name: "b", match: { pathPrefix: "/b" }, pool: "blue" }]);
    expect(toNone?.summary).toBe('listener "web": routes and pool changed');
    expect(await get("/b/1")).toBe("200 blue /b/1");
    expect(await get("/x")).toMatch(/^404 .*SY_ERR_NO_ROUTE/);
  }, 20_000);
});
