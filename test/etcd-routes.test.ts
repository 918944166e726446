/**
 * Listeners' routes shared through a real etcd (Debian's etcd on free
 * 127.0.0.1 ports, temp data dir): `config push` stores a file's routes,
 * two proxy runtimes in this process, each from its own config file with
 * `configStore: etcd`, route real HTTP requests by host and path to echo
 * backends, follow a new stored list, reject an invalid one, fall back to
 * their own file's routes when the key is deleted, and keep the stored
 * routes while etcd is down. Each test uses its own key prefix.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { configGetCommand, configPushCommand } from "../src/cli/config-command.js";
import { routesKey } from "../src/config/etcd/etcd-route-keys.js";
import { createEtcdClient } from "../src/discovery/etcd-client.js";
import { useEtcdSuite } from "./helpers/etcd.js";
import { request, startEchoServer, type TestServer } from "./helpers/servers.js";
import { type StoreInstance, startStoreInstance } from "./helpers/store-instance.js";

const suite = useEtcdSuite("etcd-routes");
const { cleanups } = suite;

interface Instance extends Omit<StoreInstance, "port" | "adminPort"> {
  /** The backend that answers `path` with `host`. */
  route(host: string, path: string): Promise<string>;
  /** The config store's status as `/api/stats` serves it. */
  storeStatus(): Promise<{ revision: number; storedRoutes: string[]; rejected: { error: string } | null }>;
}

interface Backends {
  web: TestServer;
  api: TestServer;
  v2: TestServer;
}

async function backends(): Promise<Backends> {
  const started = {
    web: await startEchoServer("web"),
    api: await startEchoServer("api"),
    v2: await startEchoServer("v2"),
  };
  cleanups.push(() => Promise.all(Object.values(started).map((server) => server.close())));
  return started;
}

/** A config file: listener "edge" (default pool web) with `routes`, pools web/api/v2, pools and routes in etcd under `prefix`. */
async function configFile(name: string, prefix: string, servers: Backends, routes?: unknown[]) {
  const file = join(suite.dir, `${name}-${prefix.replaceAll("/", "")}.json`);
  const pool = (server: TestServer) => ({ backends: [{ address: server.address }], outlierDetection: false });
  await writeFile(
    file,
    JSON.stringify({
      listeners: [{ name: "edge", listen: "127.0.0.1:0", pool: "web", ...(routes ? { routes } : {}) }],
      pools: { web: pool(servers.web), api: pool(servers.api), v2: pool(servers.v2) },
      admin: { listen: "127.0.0.1:0" },
      configStore: { provider: "etcd", endpoints: [suite.etcd.url], prefix, debounceMs: 20 },
    }),
  );
  return file;
}

async function instance(file: string): Promise<Instance> {
  const { port, adminPort, ...started } = await startStoreInstance(file, cleanups);
  return {
    ...started,
    async route(host, path) {
      const reply = await request({ port, path, headers: { host } });
      expect(reply.status).toBe(200);
      return (JSON.parse(reply.text) as { name: string }).name;
    },
    async storeStatus() {
      const stats = JSON.parse((await request({ port: adminPort, path: "/api/stats" })).text);
      return stats.configStore;
    },
  };
}

/** Where "api.example.com /", "www.example.com /v2/x" and "www.example.com /" go, in that order. */
async function routing(target: Instance): Promise<string[]> {
  return [
    await target.route("api.example.com", "/"),
    await target.route("www.example.com", "/v2/x"),
    await target.route("www.example.com", "/"),
  ];
}

/** Waits (bounded) until every instance routes as `expected`; resolves with the time it took. */
async function untilRouting(targets: Instance[], expected: string[], timeoutMs = 3_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    const seen = await Promise.all(targets.map(routing));
    if (seen.every((each) => JSON.stringify(each) === JSON.stringify(expected))) return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      expect(seen).toEqual(targets.map(() => expected));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls the store status (bounded) until `check` holds; resolves with the last status read. */
async function untilStatus(
  target: Instance,
  check: (status: Awaited<ReturnType<Instance["storeStatus"]>>) => boolean,
  timeoutMs = 3_000,
) {
  const deadline = Date.now() + timeoutMs;
  let status = await target.storeStatus();
  while (!check(status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    status = await target.storeStatus();
  }
  return status;
}

function sink(): { stream: Writable; text(): string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

const PUSHED_ROUTES = [
  { name: "api", match: { host: "api.example.com" }, pool: "api" },
  { name: "v2", match: { pathPrefix: "/v2" }, pool: "v2" },
];

/** The host route sends to v2 and the path route to api, the path route first. */
const REORDERED = [
  { name: "v2", match: { pathPrefix: "/v2" }, pool: "api" },
  { name: "api", match: { host: "api.example.com" }, pool: "v2" },
];

describe("listeners' routes shared through etcd", () => {
  it("pushes a file's routes, follows a new stored list on both instances, rejects an invalid one, and falls back to each file's routes when the key is deleted", async () => {
    const servers = await backends();
    const prefix = "/routes-share/";
    const pushedFile = await configFile("pushed", prefix, servers, PUSHED_ROUTES);
    const out = sink();
    await configPushCommand({ config: pushedFile }, out.stream);
    expect(out.text()).toMatch(
      /pushed: routes of listener "edge" \(2 routes\) at \/routes-share\/listeners\/edge\/routes, revision \d+\n$/,
    );

    const shown = sink();
    await configGetCommand({ etcd: [suite.etcd.url], prefix, json: true }, shown.stream);
    expect(JSON.parse(shown.text()).routes).toEqual({ edge: PUSHED_ROUTES });
    const yaml = sink();
    await configGetCommand({ etcd: [suite.etcd.url], prefix }, yaml.stream);
    expect(yaml.text()).toContain("routes:\n  edge:\n    - name: api\n");

    // A runs the pushed file; B's own file has no routes: both route by the list in etcd.
    const a = await instance(pushedFile);
    const b = await instance(await configFile("plain", prefix, servers));
    for (const target of [a, b]) expect(await routing(target)).toEqual(["api", "v2", "web"]);
    expect((await b.storeStatus()).storedRoutes).toEqual(["edge"]);
    expect(b.runtime.config.listeners[0]?.routes?.map((route) => route.name)).toEqual(["api", "v2"]);

    // Pushing the same file again writes nothing.
    const again = sink();
    await configPushCommand({ config: pushedFile }, again.stream);
    expect(again.text()).toMatch(/unchanged: routes of listener "edge" \(2 routes\)/);

    // A new list in etcd: both instances route by it within a couple of seconds.
    const client = createEtcdClient({ endpoints: [suite.etcd.url], requestTimeoutMs: 2_000 });
    cleanups.push(() => client.close());
    const key = routesKey(prefix, "edge");
    await client.put(key).value(JSON.stringify(REORDERED));
    expect(await untilRouting([a, b], ["v2", "api", "web"])).toBeLessThan(3_000);
    for (const target of [a, b]) {
      expect(target.logs.some((line) => line.msg.includes('listener "edge": routes changed'))).toBe(true);
    }

    // An invalid list (a route to a pool no config has) is rejected with the reason; routing stays.
    const { revision: before } = await a.storeStatus();
    await client.put(key).value(JSON.stringify([{ name: "lost", match: { pathPrefix: "/" }, pool: "nope" }]));
    for (const target of [a, b]) {
      const status = await untilStatus(target, (current) => current.rejected !== null);
      expect(status.rejected?.error).toMatch(/listeners\[0\]\.routes\[0\]\.pool.*nope/);
      expect(status.revision).toBe(before);
      expect(await routing(target)).toEqual(["v2", "api", "web"]);
      const errors = target.logs.filter((line) => line.level === 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]?.msg).toMatch(/^etcd change rejected, keeping the running config/);
    }

    // Routes for a listener the files do not have are rejected the same way, never a crash.
    const ghost = routesKey(prefix, "ghost");
    await client.put(ghost).value("[]");
    for (const target of [a, b]) {
      const status = await untilStatus(target, (current) =>
        Boolean(current.rejected?.error.includes("ghost")),
      );
      expect(status.rejected?.error).toContain(
        'routes are stored for listener "ghost", which the config file does not have (its listeners: edge)',
      );
      expect(await routing(target)).toEqual(["v2", "api", "web"]);
    }
    await client.put(key).value(JSON.stringify(REORDERED));
    await client.delete().key(ghost);
    // The list running before was REORDERED already, so the sign of the change is the cleared rejection.
    for (const target of [a, b]) {
      expect((await untilStatus(target, (current) => current.rejected === null)).rejected).toBeNull();
    }
    await untilRouting([a, b], ["v2", "api", "web"]);

    // Deleting the key: each instance falls back to its own file's routes (A's has the pushed ones, B's none).
    await client.delete().key(key);
    const fallback = Date.now();
    // The two instances apply the deletion each in its own time: wait for both.
    for (;;) {
      const seen = await Promise.all([routing(a), routing(b)]);
      if (
        JSON.stringify(seen) ===
        JSON.stringify([
          ["api", "v2", "web"],
          ["web", "web", "web"],
        ])
      )
        break;
      expect(Date.now() - fallback, `routing seen: ${JSON.stringify(seen)}`).toBeLessThan(3_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect((await b.storeStatus()).storedRoutes).toEqual([]);
    expect(b.runtime.config.listeners[0]?.routes).toBeUndefined();

    // Pushing a file whose listener has no routes deletes the stored list, mirroring a pool push.
    await client.put(key).value(JSON.stringify(PUSHED_ROUTES));
    await untilRouting([b], ["api", "v2", "web"]);
    const cleared = sink();
    await configPushCommand({ config: await configFile("plain", prefix, servers) }, cleared.stream);
    expect(cleared.text()).toMatch(
      /deleted: routes of listener "edge" at \/routes-share\/listeners\/edge\/routes/,
    );
    expect(await client.get(key).string()).toBeNull();
    await untilRouting([b], ["web", "web", "web"]);
  }, 60_000);

  it("keeps routing with the stored routes while etcd is down", async () => {
    const servers = await backends();
    const prefix = "/routes-outage/";
    const client = createEtcdClient({ endpoints: [suite.etcd.url], requestTimeoutMs: 2_000 });
    cleanups.push(() => client.close());
    await client.put(routesKey(prefix, "edge")).value(JSON.stringify(PUSHED_ROUTES));
    const b = await instance(await configFile("plain", prefix, servers));
    expect(await routing(b)).toEqual(["api", "v2", "web"]);

    await suite.etcd.stop();
    const deadline = Date.now() + 5_000;
    while (b.store.admin?.status().state !== "disconnected" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(b.store.admin?.status().state).toBe("disconnected");
    expect(await routing(b)).toEqual(["api", "v2", "web"]);
    expect(
      b.logs.some((line) => line.msg.startsWith("lost etcd; routing continues with the pools and routes")),
    ).toBe(true);
  }, 30_000);
});
