/**
 * Hot reload against a real runtime and real HTTP backends on 127.0.0.1:
 * backends added, removed with drain, re-weighted, the algorithm switched,
 * all while traffic flows and without a failed request; an invalid config
 * file is rejected with one log line and the proxy keeps serving; a config
 * mounted from a Kubernetes ConfigMap reloads when the kubelet swaps it.
 */
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig, resolveConfig } from "../src/config/load.js";
import { reloadFromFile } from "../src/config/reload.js";
import { ReloadStats } from "../src/config/reload-stats.js";
import type { SwitchyardConfig } from "../src/config/schema.js";
import { watchFile } from "../src/core/watch-file.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { request, startEchoServer, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function echo(name: string): Promise<TestServer> {
  const server = await startEchoServer(name);
  cleanups.push(() => server.close());
  return server;
}

/** An echo-like backend whose `/slow` answers after `delayMs`. */
async function slowBackend(name: string, delayMs: number): Promise<TestServer> {
  const server = await startServer((req, res) => {
    const answer = () => {
      res.writeHead(200, { "x-backend": name });
      res.end(name);
    };
    if (req.url === "/slow") setTimeout(answer, delayMs);
    else answer();
  });
  cleanups.push(() => server.close());
  return server;
}

function rawConfig(backends: Record<string, unknown>[], algorithm: unknown = "round-robin") {
  return {
    listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "main" }],
    pools: { main: { algorithm, backends, outlierDetection: false } },
  };
}

async function start(config: SwitchyardConfig): Promise<Runtime> {
  const runtime = await startSwitchyard(config);
  cleanups.push(() => runtime.close(1_000));
  return runtime;
}

function capture() {
  const lines: { level: string; msg: string; obj: object }[] = [];
  const log = (level: string) => (obj: object, msg: string) => lines.push({ level, msg, obj });
  return { lines, logger: { info: log("info"), warn: log("warn"), error: log("error") } };
}

describe("hot reload", () => {
  it("adds, drains, re-weights and switches the algorithm in place with no failed request", async () => {
    const a = await slowBackend("a", 600);
    const b = await slowBackend("b", 600);
    const c = await echo("c");
    const runtime = await start(
      parseConfig(
        rawConfig([
          { id: "a", address: a.address },
          { id: "b", address: b.address },
        ]),
      ),
    );
    const port = runtime.listeners[0]?.port ?? 0;
    const balancer = runtime.balancers.get("main");
    if (!balancer) throw new Error("no balancer");

    // Slow requests in flight on both backends (round-robin) before "a" is removed.
    const slow = [request({ port, path: "/slow" }), request({ port, path: "/slow" })];
    await waitFor(() => (balancer.pool.get("a")?.inFlight ?? 0) > 0, 2_000);

    // Traffic during the reload: 200 requests, 10 at a time.
    const statuses: number[] = [];
    const seen = new Set<string>();
    const loop = (async () => {
      for (let batch = 0; batch < 20; batch++) {
        const replies = await Promise.all(
          Array.from({ length: 10 }, () =>
            request({ port, path: "/" }).catch(() => ({ status: 0, headers: {} as Record<string, unknown> })),
          ),
        );
        for (const reply of replies) {
          statuses.push(reply.status);
          const from = reply.headers["x-backend"];
          if (typeof from === "string") seen.add(from);
        }
      }
    })();

    const result = runtime.reload(
      parseConfig(
        rawConfig(
          [
            { id: "b", address: b.address, weight: 3 },
            { id: "c", address: c.address },
          ],
          "least-connections",
        ),
      ),
    );
    expect(result.needsRestart).toEqual([]);
    expect(result.errors).toEqual([]);
    expect(result.summary).toContain("added c");
    expect(result.summary).toContain("removed (draining) a");
    expect(result.summary).toContain("weight b 1→3");
    expect(result.summary).toContain("algorithm → least-connections");

    // Applied immediately, "a" drains instead of being dropped.
    expect(balancer.pool.get("a")?.state).toBe("draining");
    expect(balancer.pool.get("b")?.configuredWeight).toBe(3);
    expect(balancer.algorithm).toBe("least-connections");
    expect(runtime.config.pools.main?.backends.map((backend) => backend.id)).toEqual(["b", "c"]);

    const slowReplies = await Promise.all(slow);
    expect(slowReplies.map((reply) => reply.status)).toEqual([200, 200]);
    expect(slowReplies.map((reply) => reply.text).sort()).toEqual(["a", "b"]);
    await result.drained;
    expect(balancer.pool.get("a")).toBeUndefined();

    await loop;
    expect(statuses).toHaveLength(200);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    expect(seen.has("c")).toBe(true);

    // "c" received traffic; after the drain "a" gets nothing new.
    expect(c.requests).toBeGreaterThan(0);
    const aBefore = a.requests;
    for (let i = 0; i < 10; i++) expect((await request({ port, path: "/" })).status).toBe(200);
    expect(a.requests).toBe(aBefore);
  }, 20_000);

  it("reports listener and health-check changes as needing a restart and applies the rest", async () => {
    const b = await echo("b");
    const c = await echo("c");
    const runtime = await start(parseConfig(rawConfig([{ id: "b", address: b.address }])));
    const next = rawConfig([
      { id: "b", address: b.address },
      { id: "c", address: c.address },
    ]);
    next.listeners[0] = { name: "web", listen: "127.0.0.1:1", pool: "main" };
    (next.pools.main as Record<string, unknown>).healthCheck = { path: "/health" };
    const result = runtime.reload(parseConfig(next));
    expect(result.needsRestart).toEqual(['listener "web" changed', 'pool "main": healthCheck changed']);
    expect(runtime.balancers.get("main")?.pool.get("c")).toBeDefined();
    expect(runtime.config.listeners[0]?.listen).toBe("127.0.0.1:0");
  });

  it("watches the file: a valid edit is applied, an invalid one is rejected with one log line and traffic continues", async () => {
    const b = await echo("b");
    const c = await echo("c");
    const dir = await mkdtemp(join(tmpdir(), "switchyard-reload-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "switchyard.json");
    await writeFile(file, JSON.stringify(rawConfig([{ id: "b", address: b.address }])));
    const resolve = () => resolveConfig({ file });
    const runtime = await start(await resolve());
    const port = runtime.listeners[0]?.port ?? 0;
    const { lines, logger } = capture();
    const stop = watchFile(file, () => reloadFromFile(runtime, resolve, logger), logger, {
      debounceMs: 50,
    });
    cleanups.push(stop);

    // Editors replace the file: write a temp file and rename it over.
    const replace = async (text: string) => {
      const temp = join(dir, `.tmp-${Date.now()}`);
      await writeFile(temp, text);
      await rename(temp, file);
    };
    await replace(
      JSON.stringify(
        rawConfig([
          { id: "b", address: b.address },
          { id: "c", address: c.address },
        ]),
      ),
    );
    await waitFor(() => runtime.balancers.get("main")?.pool.get("c") !== undefined, 5_000);

    // The watcher was re-armed after the rename: an invalid edit is seen and rejected.
    await replace(
      JSON.stringify(rawConfig([{ id: "b", address: b.address, weight: -1 }], "no-such-algorithm")),
    );
    await waitFor(() => lines.some((line) => line.level === "error"), 5_000);
    const errors = lines.filter((line) => line.level === "error");
    expect(errors).toHaveLength(1);
    expect(errors[0]?.msg).toContain("config reload rejected, keeping the running config");
    expect(errors[0]?.msg).not.toContain("\n");
    expect(runtime.config.pools.main?.backends.map((backend) => backend.id)).toEqual(["b", "c"]);
    for (let i = 0; i < 10; i++) expect((await request({ port, path: "/" })).status).toBe(200);

    // SIGHUP re-reads too: after fixing the file, a weight change arrives.
    await writeFile(
      file,
      JSON.stringify(
        rawConfig([
          { id: "b", address: b.address, weight: 4 },
          { id: "c", address: c.address },
        ]),
      ),
    );
    process.emit("SIGHUP", "SIGHUP");
    await waitFor(() => runtime.balancers.get("main")?.pool.get("b")?.configuredWeight === 4, 5_000);
  }, 20_000);

  it("follows a ConfigMap mount: the kubelet's swap of the ..data symlink reloads the config", async () => {
    const b = await echo("b");
    const c = await echo("c");
    const dir = await mkdtemp(join(tmpdir(), "switchyard-configmap-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // The layout of a mounted ConfigMap: file -> ..data/file, ..data -> a timestamped directory.
    const version = async (name: string, backends: Record<string, unknown>[]) => {
      await mkdir(join(dir, name));
      await writeFile(join(dir, name, "switchyard.json"), JSON.stringify(rawConfig(backends)));
      await symlink(name, join(dir, "..data_tmp"));
      await rename(join(dir, "..data_tmp"), join(dir, "..data"));
    };
    await version("..v1", [{ id: "b", address: b.address }]);
    const file = join(dir, "switchyard.json");
    await symlink(join("..data", "switchyard.json"), file);
    const resolve = () => resolveConfig({ file });
    const runtime = await start(await resolve());
    const { logger } = capture();
    cleanups.push(
      watchFile(file, () => reloadFromFile(runtime, resolve, logger), logger, { debounceMs: 50 }),
    );

    // An update: the new version in place, the symlink swapped, the old version removed.
    await version("..v2", [
      { id: "b", address: b.address },
      { id: "c", address: c.address },
    ]);
    await rm(join(dir, "..v1"), { recursive: true });
    await waitFor(() => runtime.balancers.get("main")?.pool.get("c") !== undefined, 5_000);
    expect(runtime.reloads.applied).toBeGreaterThanOrEqual(1);
  });

  it("serves the running config on /api/config after a reload, not the one it started with", async () => {
    const b = await echo("b");
    const c = await echo("c");
    const withAdmin = (backends: Record<string, unknown>[]) =>
      parseConfig({ ...rawConfig(backends), admin: { listen: "127.0.0.1:0", token: "t0ken" } });
    const runtime = await start(withAdmin([{ id: "b", address: b.address }]));
    const port = runtime.admin?.port ?? 0;
    const servedIds = async () => {
      const reply = JSON.parse((await request({ port, path: "/api/config" })).text);
      return reply.pools.main.backends.map((backend: { id: string }) => backend.id);
    };
    expect(await servedIds()).toEqual(["b"]);
    runtime.reload(
      withAdmin([
        { id: "b", address: b.address },
        { id: "c", address: c.address },
      ]),
    );
    expect(await servedIds()).toEqual(["b", "c"]);
    const reply = JSON.parse((await request({ port, path: "/api/config" })).text);
    expect(reply.admin.token).toBe("***");
  });

  it("rejects an unreadable or unparsable file at the function level", async () => {
    const { lines, logger } = capture();
    const runtime = {
      reload: () => expect.unreachable("must not reload") as never,
      reloads: new ReloadStats(),
    };
    const dir = await mkdtemp(join(tmpdir(), "switchyard-reload-"));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, "bad.yaml");
    await writeFile(file, "listeners: [\n");
    const result = await reloadFromFile(runtime, () => resolveConfig({ file }), logger);
    expect(result).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]?.level).toBe("error");
    expect(lines[0]?.msg).toContain("cannot parse");
    expect(runtime.reloads).toMatchObject({ applied: 0, rejected: 1 });
  });
});
