/**
 * Admin API end to end: a real AdminServer on 127.0.0.1 (port chosen by the
 * OS) over real balancers. Covers liveness and readiness, the read endpoints'
 * shapes, config redaction, bearer auth, backend add / update / remove (with
 * draining), algorithm switching, validation errors that name the field,
 * 404 / 405 / 413 answers, the Host check, CORS, the audit log and unexpected failures.
 */
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AdminServer, type AdminServerOptions } from "../src/admin/admin-server.js";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { useCleanups } from "./helpers/fixtures.js";
import { request, type TestResponse, waitFor } from "./helpers/servers.js";

const TOKEN = "test-admin-token";
const cleanups = useCleanups();

afterEach(() => {
  vi.restoreAllMocks();
});

interface CallOptions {
  body?: unknown;
  /** Raw body text, sent as is. */
  raw?: string | Buffer;
  /** Bearer token; default the test token, `null` for none. */
  token?: string | null;
  headers?: Record<string, string>;
}

interface Reply extends TestResponse {
  json: Record<string, unknown>;
}

interface Admin {
  admin: AdminServer;
  port: number;
  balancers: Map<string, Balancer>;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
}

/** Pools of backends that need not be running: the admin API never connects to them. */
function balancersFor(pools: Record<string, string[]>): Map<string, Balancer> {
  const balancers = new Map<string, Balancer>();
  let port = 40_000;
  for (const [name, ids] of Object.entries(pools)) {
    balancers.set(
      name,
      createBalancer({ backends: ids.map((id) => ({ id, address: `127.0.0.1:${port++}` })) }),
    );
  }
  return balancers;
}

async function startAdmin(
  options: Partial<AdminServerOptions> & { pools?: Record<string, string[]> } = {},
): Promise<Admin> {
  const { pools = { web: ["a", "b"] }, ...rest } = options;
  const balancers = (rest.balancers as Map<string, Balancer> | undefined) ?? balancersFor(pools);
  const admin = new AdminServer({ token: TOKEN, ...rest, balancers, port: 0 });
  const { port } = await admin.listen();
  cleanups.push(() => admin.close());
  const call = async (method: string, path: string, call: CallOptions = {}): Promise<Reply> => {
    const headers: Record<string, string> = { ...call.headers };
    const token = call.token === undefined ? TOKEN : call.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body = call.raw;
    if (call.body !== undefined) {
      body = JSON.stringify(call.body);
      headers["content-type"] = "application/json";
    }
    const response = await request({ port, method, path, headers, body });
    const json = response.text ? (JSON.parse(response.text) as Record<string, unknown>) : {};
    return { ...response, json };
  };
  return { admin, port, balancers, call };
}

function pool(admin: Admin, name = "web") {
  return (admin.balancers.get(name) as Balancer).pool;
}

/** A pino logger that keeps every entry. */
function capturingLogger(): { logger: pino.Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => entries.push(JSON.parse(line)) });
  return { logger, entries };
}

describe("admin API: liveness and readiness", () => {
  it("answers /health with ok, also to HEAD", async () => {
    const { call } = await startAdmin();
    const health = await call("GET", "/health");
    expect(health.status).toBe(200);
    expect(health.json).toEqual({ status: "ok" });
    expect(health.headers["content-type"]).toMatch(/^application\/json/);
    const head = await call("HEAD", "/health");
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });

  it("is ready while every pool has a ready backend, 503 with reasons once all are disabled", async () => {
    const admin = await startAdmin({ pools: { web: ["a", "b"], api: ["c"] } });
    const ready = await admin.call("GET", "/ready");
    expect(ready.status).toBe(200);
    expect(ready.json).toEqual({ ready: true, reasons: [] });

    pool(admin).disable("a");
    expect((await admin.call("GET", "/ready")).status).toBe(200);
    pool(admin).disable("b");
    const notReady = await admin.call("GET", "/ready");
    expect(notReady.status).toBe(503);
    expect(notReady.json.ready).toBe(false);
    expect(notReady.json.reasons).toEqual(['pool "web" has no ready backend (0 of 2 ready)']);

    pool(admin).enable("b");
    expect((await admin.call("GET", "/ready")).status).toBe(200);
  });

  it("combines the host's own readiness check", async () => {
    let hostReady = false;
    const { call } = await startAdmin({
      ready: () => ({ ready: hostReady, reasons: hostReady ? [] : ["config not loaded yet"] }),
    });
    const notReady = await call("GET", "/ready");
    expect(notReady.status).toBe(503);
    expect(notReady.json.reasons).toEqual(["config not loaded yet"]);
    hostReady = true;
    expect((await call("GET", "/ready")).status).toBe(200);
  });
});

describe("admin API: reads", () => {
  it("reports status: uptime, package version, and each pool's algorithm and backend counts", async () => {
    const admin = await startAdmin({ pools: { web: ["a", "b"], api: ["c"] } });
    pool(admin).disable("b");
    const status = await admin.call("GET", "/api/status");
    expect(status.status).toBe(200);
    const version = (
      JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
        version: string;
      }
    ).version;
    expect(status.json).toEqual({
      uptimeSeconds: expect.any(Number),
      version,
      pools: {
        web: { algorithm: "round-robin", backends: 2, ready: 1 },
        api: { algorithm: "round-robin", backends: 1, ready: 1 },
      },
    });
  });

  it("lists servers per pool, or for one pool with ?pool=", async () => {
    const admin = await startAdmin({ pools: { web: ["a", "b"], api: ["c"] } });
    const all = await admin.call("GET", "/api/servers");
    expect(all.status).toBe(200);
    const pools = all.json.pools as Record<string, Record<string, unknown>[]>;
    expect(Object.keys(pools)).toEqual(["web", "api"]);
    expect(pools.web?.map((backend) => backend.id)).toEqual(["a", "b"]);
    expect(pools.web?.[0]).toMatchObject({
      id: "a",
      address: "127.0.0.1:40000",
      weight: 1,
      enabled: true,
      state: "healthy",
      ready: true,
      inFlight: 0,
      circuit: "closed",
    });

    const one = await admin.call("GET", "/api/servers?pool=api");
    expect(Object.keys(one.json.pools as object)).toEqual(["api"]);

    const unknown = await admin.call("GET", "/api/servers?pool=nope");
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toBe("SY_ERR_UNKNOWN_POOL");
    expect(unknown.json.message).toContain("web, api");

    const typo = await admin.call("GET", "/api/servers?pol=web");
    expect(typo.status).toBe(400);
    expect(typo.json.message).toMatch(/pol: unknown key "pol".*did you mean "pool"/);
  });

  it("serves each pool's balancer stats", async () => {
    const admin = await startAdmin();
    const balancer = admin.balancers.get("web") as Balancer;
    const decision = balancer.select({});
    balancer.report(decision, { status: 200, latencyMs: 3 });
    const stats = await admin.call("GET", "/api/stats");
    expect(stats.status).toBe(200);
    const web = (stats.json.pools as Record<string, Record<string, unknown>>).web;
    expect(web).toMatchObject({
      algorithm: "round-robin",
      decisions: 1,
      requests: 1,
      errors: 0,
      inFlight: 0,
    });
    expect(web?.backends).toHaveLength(2);
  });

  it("serves each pool's algorithm metrics and per-region counters", async () => {
    const { call, balancers } = await startAdmin();
    const web = balancers.get("web") as Balancer;
    expect((await call("GET", "/api/algorithm-metrics")).json).toEqual({
      pools: { web: { algorithm: "round-robin", metrics: null, regions: null } },
    });
    web.setAlgorithm("beta1");
    web.select({ clientIp: "10.0.0.1" }).finish({ status: 200, latencyMs: 1 });
    web.setAlgorithm({ name: "geographical", geo: { database: false } });
    web.select({ clientIp: "10.0.0.1" }).finish({ status: 200, latencyMs: 1 });
    const pools = (await call("GET", "/api/algorithm-metrics")).json.pools as Record<
      string,
      Record<string, unknown>
    >;
    expect(pools.web).toMatchObject({ algorithm: "geographical", metrics: null });
    expect(pools.web?.regions).toBeTypeOf("object");
    web.setAlgorithm("beta1");
    expect(
      ((await call("GET", "/api/algorithm-metrics")).json.pools as Record<string, Record<string, unknown>>)
        .web,
    ).toMatchObject({ algorithm: "beta1", metrics: { cacheHitRate: expect.any(Number) } });
  });

  it("lists every registered algorithm with its options schema", async () => {
    const { call } = await startAdmin();
    const reply = await call("GET", "/api/algorithms");
    expect(reply.status).toBe(200);
    const algorithms = reply.json.algorithms as {
      name: string;
      aliases: string[];
      options: { properties?: Record<string, unknown> };
    }[];
    const names = algorithms.map((algorithm) => algorithm.name);
    expect(names).toEqual(expect.arrayContaining(["round-robin", "least-connections", "least-latency"]));
    const leastLatency = algorithms.find((algorithm) => algorithm.name === "least-latency");
    expect(leastLatency?.aliases).toContain("ewma");
    expect(leastLatency?.options.properties).toHaveProperty("alpha");
  });

  it("serves the config with secrets redacted, leaving the original untouched", async () => {
    const config = {
      listeners: [{ name: "main", listen: "127.0.0.1:8080", pool: "web" }],
      pools: { web: { algorithm: "round-robin", backends: [{ address: "127.0.0.1:40000" }] } },
      admin: { listen: "127.0.0.1:9090", token: "s3cret-value" },
    };
    const { call } = await startAdmin({ config: () => config });
    const reply = await call("GET", "/api/config");
    expect(reply.status).toBe(200);
    expect(reply.text).not.toContain("s3cret-value");
    expect(reply.json).toEqual({ ...config, admin: { listen: "127.0.0.1:9090", token: "***" } });
    expect(config.admin.token).toBe("s3cret-value");
  });
});

describe("admin API: authorisation", () => {
  it("refuses every write with 403 when no token is configured, while reads still work", async () => {
    const { call } = await startAdmin({ token: undefined });
    const write = await call("POST", "/api/servers", { body: { address: "127.0.0.1:40100" }, token: "x" });
    expect(write.status).toBe(403);
    expect(write.json.error).toBe("SY_ERR_ADMIN_WRITES_DISABLED");
    expect(write.headers["x-switchyard-error"]).toBe("SY_ERR_ADMIN_WRITES_DISABLED");
    expect((await call("GET", "/api/servers", { token: null })).status).toBe(200);
  });

  it("answers 401 to a missing or wrong bearer token, and accepts the right one", async () => {
    const admin = await startAdmin();
    const body = { id: "n", address: "127.0.0.1:40100" };
    const missing = await admin.call("POST", "/api/servers", { body, token: null });
    expect(missing.status).toBe(401);
    expect(missing.json.error).toBe("SY_ERR_UNAUTHORIZED");
    expect(missing.headers["www-authenticate"]).toMatch(/^Bearer/);
    for (const token of ["wrong", `${TOKEN}x`, TOKEN.slice(0, -1)]) {
      const wrong = await admin.call("POST", "/api/servers", { body, token });
      expect(wrong.status).toBe(401);
      expect(wrong.json).toEqual({ error: "SY_ERR_UNAUTHORIZED", message: "wrong bearer token" });
    }
    const basic = await admin.call("POST", "/api/servers", {
      body,
      token: null,
      headers: { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}` },
    });
    expect(basic.status).toBe(401);
    expect(pool(admin).get("n")).toBeUndefined();

    const right = await admin.call("POST", "/api/servers", { body });
    expect(right.status).toBe(201);
    expect(pool(admin).get("n")).toBeDefined();
  });

  it("logs every write with the caller's address, refusals at warn", async () => {
    const { logger, entries } = capturingLogger();
    const { call } = await startAdmin({ logger });
    await call("POST", "/api/servers", { body: { id: "n", address: "127.0.0.1:40100" } });
    await call("PATCH", "/api/servers/n", { body: { weight: 2 }, token: "wrong" });
    await call("GET", "/api/servers");

    const writes = entries.filter((entry) => String(entry.msg).startsWith("admin write"));
    expect(writes).toHaveLength(2);
    expect(writes[0]).toMatchObject({
      level: 30,
      msg: "admin write",
      component: "admin",
      remote: "127.0.0.1",
      method: "POST",
      path: "/api/servers",
      status: 201,
      action: "add-backend",
      pool: "web",
      id: "n",
    });
    expect(writes[1]).toMatchObject({
      level: 40,
      msg: "admin write refused",
      remote: "127.0.0.1",
      status: 401,
      error: "SY_ERR_UNAUTHORIZED",
    });
    expect(JSON.stringify(entries)).not.toContain(TOKEN);
  });
});

describe("admin API: Host check (DNS rebinding)", () => {
  it("answers 421 with a coded JSON error to a Host it does not know, reads and writes alike", async () => {
    const admin = await startAdmin();
    for (const host of ["attacker.example", `attacker.example:${admin.port}`, "localhost.attacker.example"]) {
      const read = await admin.call("GET", "/api/config", { headers: { host } });
      expect(read.status).toBe(421);
      expect(read.json).toEqual({ error: "SY_ERR_HOST_NOT_ALLOWED", message: expect.stringContaining(host) });
      expect(read.headers["x-switchyard-error"]).toBe("SY_ERR_HOST_NOT_ALLOWED");
    }
    const write = await admin.call("POST", "/api/strategy", {
      body: { algorithm: "p2c" },
      headers: { host: "attacker.example" },
    });
    expect(write.status).toBe(421);
    expect(admin.balancers.get("web")?.algorithm).toBe("round-robin");
  });

  it("answers localhost, IP addresses and its listen host, with or without a port", async () => {
    const admin = await startAdmin();
    const hosts = ["localhost", `localhost:${admin.port}`, "LOCALHOST.", `127.0.0.1:${admin.port}`];
    hosts.push(`[::1]:${admin.port}`, "[::1]", "10.1.2.3:9090");
    for (const host of hosts) {
      expect((await admin.call("GET", "/api/status", { headers: { host } })).status, host).toBe(200);
    }
  });

  it("answers the names in allowedHosts, and any Host with *", async () => {
    const named = await startAdmin({ allowedHosts: ["lb.example"] });
    expect((await named.call("GET", "/api/status", { headers: { host: "LB.example:9090" } })).status).toBe(
      200,
    );
    expect((await named.call("GET", "/api/status", { headers: { host: "other.example" } })).status).toBe(421);
    const any = await startAdmin({ allowedHosts: ["*"] });
    expect((await any.call("GET", "/api/status", { headers: { host: "other.example" } })).status).toBe(200);
  });
});

describe("admin API: backends", () => {
  it("adds a backend with the config's backend shape", async () => {
    const admin = await startAdmin();
    const reply = await admin.call("POST", "/api/servers", {
      body: { id: "c", address: "127.0.0.1:40100", weight: 3, region: "eu-west", labels: { tier: "gold" } },
    });
    expect(reply.status).toBe(201);
    expect(reply.headers.location).toBe("/api/servers/c?pool=web");
    expect(reply.json).toMatchObject({
      id: "c",
      address: "127.0.0.1:40100",
      weight: 3,
      region: "eu-west",
      labels: { tier: "gold" },
      enabled: true,
      ready: true,
    });
    const backend = pool(admin).require("c");
    expect(backend.weight).toBe(3);

    const withoutId = await admin.call("POST", "/api/servers", { body: { address: "127.0.0.1:40101" } });
    expect(withoutId.status).toBe(201);
    expect(withoutId.json.id).toBe("127.0.0.1:40101");

    const duplicate = await admin.call("POST", "/api/servers", {
      body: { id: "c", address: "127.0.0.1:40102" },
    });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json.error).toBe("SY_ERR_DUPLICATE_BACKEND");
  });

  it("names the field in every validation error", async () => {
    const { call } = await startAdmin();
    const weight = await call("POST", "/api/servers", {
      body: { address: "127.0.0.1:40100", weight: 20_000 },
    });
    expect(weight.status).toBe(400);
    expect(weight.json.error).toBe("SY_ERR_BAD_REQUEST");
    expect(weight.json.message).toBe(
      "invalid request body: weight: expected a number from 0 to 10000, found 20000",
    );
    expect(weight.json.issues).toEqual([
      expect.objectContaining({ path: "weight", kind: "invalid", found: "20000" }),
    ]);

    const missing = await call("POST", "/api/servers", { body: { weight: 2 } });
    expect(missing.status).toBe(400);
    expect(missing.json.message).toMatch(/^invalid request body: address: missing; expected/);

    const address = await call("POST", "/api/servers", { body: { address: "not an address" } });
    expect(address.status).toBe(400);
    expect(address.json.message).toMatch(/address: expected .*found "not an address"/);

    const typo = await call("POST", "/api/servers", { body: { address: "127.0.0.1:40100", wieght: 2 } });
    expect(typo.status).toBe(400);
    expect(typo.json.message).toMatch(/wieght: unknown key "wieght".*did you mean "weight"/);

    const notObject = await call("POST", "/api/servers", { body: [1, 2] });
    expect(notObject.status).toBe(400);
    expect(notObject.json.message).toMatch(/^invalid request body: \(root\): expected an object/);

    const badJson = await call("POST", "/api/servers", { raw: "{not json" });
    expect(badJson.status).toBe(400);
    expect(badJson.json.error).toBe("SY_ERR_BAD_REQUEST");
    expect(badJson.json.message).toMatch(/^request body is not valid JSON/);
  });

  it("answers 400 to a body nested 30,000 deep, as to any other bad body", async () => {
    const admin = await startAdmin();
    const { call } = admin;
    const deep = `${"[".repeat(30_000)}${"]".repeat(30_000)}`;
    const cases = [
      ["/api/strategy", `{"algorithm":{"name":"p2c","x":${deep}}}`],
      ["/api/servers", `{"address":"127.0.0.1:40100","labels":{"a":${deep}}}`],
    ];
    for (const [path, raw] of cases) {
      const reply = await call("POST", path as string, { raw });
      expect(reply.status).toBe(400);
      expect(reply.json.error).toBe("SY_ERR_BAD_REQUEST");
      expect(reply.json.message).toBe("request body nests lists and objects deeper than 64 levels");
    }
    // Nothing changed, and the server still answers.
    expect((await call("GET", "/api/servers")).status).toBe(200);
    expect(pool(admin).size).toBe(2);
    expect(admin.balancers.get("web")?.algorithm).toBe("round-robin");
  });

  it("needs the pool when there are several, and 404s an unknown one", async () => {
    const { call } = await startAdmin({ pools: { web: ["a"], api: ["b"] } });
    const unnamed = await call("POST", "/api/servers", { body: { address: "127.0.0.1:40100" } });
    expect(unnamed.status).toBe(400);
    expect(unnamed.json.message).toMatch(/^pool: missing; expected one of the pools: web, api/);

    const unknown = await call("POST", "/api/servers", {
      body: { pool: "nope", address: "127.0.0.1:40100" },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toBe("SY_ERR_UNKNOWN_POOL");

    const named = await call("POST", "/api/servers", { body: { pool: "api", address: "127.0.0.1:40100" } });
    expect(named.status).toBe(201);
    expect(named.headers.location).toBe("/api/servers/127.0.0.1%3A40100?pool=api");

    // A request about one backend finds its pool by the id.
    const patched = await call("PATCH", "/api/servers/b", { body: { weight: 4 } });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ id: "b", weight: 4 });
  });

  it("re-weights, disables and enables a backend", async () => {
    const admin = await startAdmin();
    const reweighted = await admin.call("PATCH", "/api/servers/a", { body: { weight: 5 } });
    expect(reweighted.status).toBe(200);
    expect(reweighted.json).toMatchObject({ id: "a", weight: 5, enabled: true });
    expect(pool(admin).require("a").weight).toBe(5);

    const disabled = await admin.call("PATCH", "/api/servers/a", { body: { enabled: false } });
    expect(disabled.json).toMatchObject({ id: "a", enabled: false, ready: false });
    expect(pool(admin).require("a").enabled).toBe(false);

    const both = await admin.call("PATCH", "/api/servers/a?pool=web", { body: { enabled: true, weight: 0 } });
    expect(both.json).toMatchObject({ enabled: true, weight: 0 });

    const nothing = await admin.call("PATCH", "/api/servers/a", { body: {} });
    expect(nothing.status).toBe(400);
    expect(nothing.json.message).toContain("expected at least one of weight, enabled");

    const badEnabled = await admin.call("PATCH", "/api/servers/a", { body: { enabled: "no" } });
    expect(badEnabled.status).toBe(400);
    expect(badEnabled.json.message).toMatch(/enabled: expected true or false, found "no"/);

    const unknown = await admin.call("PATCH", "/api/servers/zz", { body: { weight: 1 } });
    expect(unknown.status).toBe(404);
    expect(unknown.json.error).toBe("SY_ERR_UNKNOWN_BACKEND");
  });

  it("addresses a backend whose id holds slashes through percent-encoding", async () => {
    const admin = await startAdmin();
    await admin.call("POST", "/api/servers", { body: { address: "http://127.0.0.1:40100" } });
    const id = encodeURIComponent("http://127.0.0.1:40100");
    const reply = await admin.call("PATCH", `/api/servers/${id}`, { body: { weight: 2 } });
    expect(reply.status).toBe(200);
    expect(reply.json.id).toBe("http://127.0.0.1:40100");

    const malformed = await admin.call("PATCH", "/api/servers/%E0%A4%A", { body: { weight: 2 } });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error).toBe("SY_ERR_BAD_REQUEST");
  });

  it("removes a backend at once without drain", async () => {
    const admin = await startAdmin();
    const reply = await admin.call("DELETE", "/api/servers/b");
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: "b", removed: true });
    expect(pool(admin).get("b")).toBeUndefined();

    const again = await admin.call("DELETE", "/api/servers/b");
    expect(again.status).toBe(404);
    expect(again.json.error).toBe("SY_ERR_UNKNOWN_BACKEND");
  });

  it("drains: 202 at once, no new traffic, removed once in-flight work reaches zero", async () => {
    const { logger, entries } = capturingLogger();
    const admin = await startAdmin({ logger });
    const balancer = admin.balancers.get("web") as Balancer;
    const decision = balancer.select({});
    expect(decision.backend.id).toBe("a");

    const reply = await admin.call("DELETE", "/api/servers/a?drain=true&timeoutMs=10000");
    expect(reply.status).toBe(202);
    expect(reply.json).toEqual({ pool: "web", id: "a", draining: true, inFlight: 1, timeoutMs: 10_000 });
    const backend = pool(admin).require("a");
    expect(backend.state).toBe("draining");
    for (let i = 0; i < 4; i++) {
      const next = balancer.select({});
      expect(next.backend.id).toBe("b");
      balancer.report(next, { status: 200, latencyMs: 1 });
    }

    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(pool(admin).get("a")).toBe(backend);
    balancer.report(decision, { status: 200, latencyMs: 5 });
    await waitFor(() => pool(admin).get("a") === undefined);
    await waitFor(() => entries.some((entry) => entry.msg === "drained backend removed"));
    expect(entries.find((entry) => entry.msg === "drained backend removed")).toMatchObject({
      pool: "web",
      id: "a",
      inFlightLeft: 0,
      timedOut: false,
    });
  });

  it("validates the delete query by field", async () => {
    const admin = await startAdmin();
    const drain = await admin.call("DELETE", "/api/servers/a?drain=maybe");
    expect(drain.status).toBe(400);
    expect(drain.json.message).toMatch(/^invalid query: drain: expected "true" or "false", found "maybe"/);
    const timeout = await admin.call("DELETE", "/api/servers/a?drain=true&timeoutMs=soon");
    expect(timeout.status).toBe(400);
    expect(timeout.json.message).toMatch(/timeoutMs: expected a whole number from 1 to 600000/);
    expect(pool(admin).require("a").state).toBe("healthy");
  });
});

describe("admin API: strategy", () => {
  it("switches the algorithm, by name or with options", async () => {
    const admin = await startAdmin();
    const balancer = admin.balancers.get("web") as Balancer;
    const byName = await admin.call("POST", "/api/strategy", { body: { algorithm: "least-connections" } });
    expect(byName.status).toBe(200);
    expect(byName.json).toMatchObject({
      pool: "web",
      algorithm: "least-connections",
      previous: "round-robin",
    });
    expect(balancer.algorithm).toBe("least-connections");

    const withOptions = await admin.call("POST", "/api/strategy", {
      body: { pool: "web", algorithm: { name: "ewma", alpha: 0.5 } },
    });
    expect(withOptions.status).toBe(200);
    expect(withOptions.json.algorithm).toBe("least-latency");
    expect(balancer.algorithm).toBe("least-latency");
    expect(balancer.algorithmSpec).toEqual({ name: "ewma", alpha: 0.5 });
    expect((await admin.call("GET", "/api/status")).json.pools).toMatchObject({
      web: { algorithm: "least-latency" },
    });
  });

  it("answers an unknown algorithm with SY_ERR_UNKNOWN_ALGORITHM and the registered names", async () => {
    const admin = await startAdmin();
    const reply = await admin.call("POST", "/api/strategy", { body: { algorithm: "least-conections" } });
    expect(reply.status).toBe(400);
    expect(reply.json.error).toBe("SY_ERR_UNKNOWN_ALGORITHM");
    expect(reply.json.message).toMatch(/^invalid request body: algorithm: expected a registered algorithm/);
    expect(reply.json.message).toContain("round-robin");
    expect(reply.json.message).toContain("least-latency");
    expect(reply.json.message).toContain('did you mean "least-connections"');
    expect((admin.balancers.get("web") as Balancer).algorithm).toBe("round-robin");
  });

  it("answers bad options with SY_ERR_INVALID_OPTIONS naming the option", async () => {
    const admin = await startAdmin();
    const range = await admin.call("POST", "/api/strategy", {
      body: { algorithm: { name: "least-latency", alpha: 5 } },
    });
    expect(range.status).toBe(400);
    expect(range.json.error).toBe("SY_ERR_INVALID_OPTIONS");
    expect(range.json.message).toMatch(/algorithm\.alpha: expected .*found 5/);

    const unknownOption = await admin.call("POST", "/api/strategy", {
      body: { algorithm: { name: "least-latency", alfa: 0.3 } },
    });
    expect(unknownOption.status).toBe(400);
    expect(unknownOption.json.error).toBe("SY_ERR_INVALID_OPTIONS");
    expect(unknownOption.json.message).toMatch(/algorithm\.alfa: unknown key "alfa".*did you mean "alpha"/);

    const missing = await admin.call("POST", "/api/strategy", { body: {} });
    expect(missing.status).toBe(400);
    expect(missing.json.error).toBe("SY_ERR_BAD_REQUEST");
    expect(missing.json.message).toMatch(/algorithm: missing/);
    expect((admin.balancers.get("web") as Balancer).algorithm).toBe("round-robin");
  });
});

describe("admin API: the ALPHA1/BETA1 balancer's forms", () => {
  it("switches with { strategy } and its underscore names", async () => {
    const admin = await startAdmin();
    const balancer = admin.balancers.get("web") as Balancer;
    const names = {
      alpha1: "alpha1",
      beta1: "beta1",
      least_connections: "least-connections",
      weighted_round_robin: "failure-weighted-round-robin",
      health_score: "health-score",
      response_time: "response-time",
      round_robin: "round-robin",
    };
    for (const [strategy, algorithm] of Object.entries(names)) {
      const reply = await admin.call("POST", "/api/strategy", { body: { strategy } });
      expect(reply.status).toBe(200);
      expect(reply.json.algorithm).toBe(algorithm);
      expect(balancer.algorithm).toBe(algorithm);
    }
    const both = await admin.call("POST", "/api/strategy", {
      body: { strategy: "alpha1", algorithm: "p2c" },
    });
    expect(both.status).toBe(400);
    expect(both.json.message).toMatch(/strategy: expected algorithm or strategy, not both/);
    const unknown = await admin.call("POST", "/api/strategy", { body: { strategy: "least_conections" } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toBe("SY_ERR_UNKNOWN_ALGORITHM");
    expect(balancer.algorithm).toBe("round-robin");
  });

  it("toggles a backend by { host, port } or id, through the same checked write as PATCH", async () => {
    const admin = await startAdmin({ pools: { web: ["a", "b"], api: ["c"] } });
    const [host, port] = pool(admin).require("b").address.split(":");
    const off = await admin.call("POST", "/api/servers/toggle", { body: { host, port: Number(port) } });
    expect(off.status).toBe(200);
    expect(off.json).toMatchObject({ id: "b", enabled: false });
    expect(pool(admin).require("b").enabled).toBe(false);
    const on = await admin.call("POST", "/api/servers/toggle", { body: { host, port: Number(port) } });
    expect(on.json).toMatchObject({ id: "b", enabled: true });
    expect(pool(admin).require("b").enabled).toBe(true);
    const byId = await admin.call("POST", "/api/servers/toggle", { body: { id: "c" } });
    expect(byId.json).toMatchObject({ id: "c", enabled: false });
    expect(pool(admin, "api").require("c").enabled).toBe(false);

    const unknown = await admin.call("POST", "/api/servers/toggle", { body: { host, port: 1 } });
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: "SY_ERR_UNKNOWN_BACKEND" });
    expect(unknown.json.message).toBe(`no backend ${host}:1 in any pool`);
    const missing = await admin.call("POST", "/api/servers/toggle", { body: { host } });
    expect(missing.status).toBe(400);
    expect(missing.json.message).toMatch(/port: missing; expected \{ host, port \} or \{ id \}/);
    const anonymous = await admin.call("POST", "/api/servers/toggle", { body: { id: "a" }, token: null });
    expect(anonymous.status).toBe(401);
    expect(pool(admin).require("a").enabled).toBe(true);
  });

  it("adds alpha1_global and beta1_global to /api/algorithm-metrics while a pool runs them", async () => {
    const admin = await startAdmin({ pools: { web: ["a", "b"], cache: ["c", "d"] } });
    const metrics = async () => (await admin.call("GET", "/api/algorithm-metrics")).json;
    expect(await metrics()).not.toHaveProperty("alpha1_global");
    const web = admin.balancers.get("web") as Balancer;
    const cache = admin.balancers.get("cache") as Balancer;
    web.setAlgorithm("alpha1");
    cache.setAlgorithm({ name: "beta1", hashKey: { source: "path" } });
    for (let index = 0; index < 4; index++) {
      web.select({ method: "GET", path: "/" }).finish({ status: 200, latencyMs: 10 });
      cache.select({ method: "GET", path: "/same-key" }).finish({ status: 200, latencyMs: 1 });
    }
    const answer = await metrics();
    expect(answer.alpha1_global).toMatchObject({
      beta: expect.any(Number),
      gamma: expect.any(Number),
      hedge_rate: 0,
      hedge_budget: 0.05,
    });
    // The second to fourth requests for the key go where it was served before: cache hits.
    expect(answer.beta1_global).toMatchObject({
      cache_hit_rate: 0.75,
      servers_in_warmup: 0,
      warmup_progress: 1,
    });
    expect(answer.pools).toHaveProperty("cache");
  });

  it("summarises performance as /api/performance", async () => {
    const admin = await startAdmin();
    const balancer = admin.balancers.get("web") as Balancer;
    const empty = await admin.call("GET", "/api/performance");
    expect(empty.json).toMatchObject({ total_requests: 0, success_rate: 100, avg_response_time: 0 });
    for (let index = 0; index < 4; index++) {
      const decision = balancer.select({ method: "GET", path: "/" });
      balancer.report(
        decision,
        index === 3 ? { status: 503, latencyMs: 40 } : { status: 200, latencyMs: 20 },
      );
    }
    const held = balancer.select({ method: "GET", path: "/" });
    const reply = await admin.call("GET", "/api/performance?pool=web");
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      total_requests: 4,
      successful_requests: 3,
      failed_requests: 1,
      active_connections: 1,
      success_rate: 75,
      avg_response_time: 25,
    });
    const servers = reply.json.servers as Record<string, unknown>[];
    expect(servers.map((server) => [server.id, server.total_requests, server.failed_requests])).toEqual([
      ["a", 2, 0],
      ["b", 2, 1],
    ]);
    expect(servers[0]).toMatchObject({ pool: "web", enabled: true, healthy: true, active_connections: 1 });
    balancer.report(held, { status: 200, latencyMs: 1 });
  });
});

describe("admin API: HTTP edges", () => {
  it("answers an unknown path with 404 and a wrong method with 405 and Allow", async () => {
    const { call } = await startAdmin();
    const unknown = await call("GET", "/api/nope");
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: "SY_ERR_NOT_FOUND", message: "no admin API route GET /api/nope" });

    const wrong = await call("DELETE", "/api/status");
    expect(wrong.status).toBe(405);
    expect(wrong.json.error).toBe("SY_ERR_METHOD_NOT_ALLOWED");
    expect(wrong.headers.allow).toBe("GET, HEAD, OPTIONS");

    const put = await call("PUT", "/api/servers/a", { body: { weight: 1 } });
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe("PATCH, DELETE, OPTIONS");
  });

  it("refuses a body over 64 KiB with 413, declared or chunked", async () => {
    const admin = await startAdmin();
    const big = JSON.stringify({ address: "127.0.0.1:40100", labels: { pad: "x".repeat(70 * 1024) } });
    const declared = await admin.call("POST", "/api/servers", { raw: big });
    expect(declared.status).toBe(413);
    expect(declared.json.error).toBe("SY_ERR_PAYLOAD_TOO_LARGE");

    const chunks = Array.from({ length: 20 }, () => Buffer.from("x".repeat(8 * 1024)));
    const chunked = await request({
      port: admin.port,
      method: "POST",
      path: "/api/servers",
      headers: { authorization: `Bearer ${TOKEN}`, "transfer-encoding": "chunked" },
      body: chunks,
    });
    expect(chunked.status).toBe(413);
    expect(chunked.headers.connection).toBe("close");
    expect(pool(admin).size).toBe(2);

    const justUnder = JSON.stringify({ address: "127.0.0.1:40100", labels: { pad: "x".repeat(60 * 1024) } });
    expect((await admin.call("POST", "/api/servers", { raw: justUnder })).status).toBe(201);
  });

  it("grants CORS to listed origins, preflight included", async () => {
    const { call } = await startAdmin({ cors: { origins: ["https://ops.example.com"] } });
    const preflight = await call("OPTIONS", "/api/servers/a", {
      token: null,
      headers: {
        origin: "https://ops.example.com",
        "access-control-request-method": "PATCH",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("https://ops.example.com");
    expect(preflight.headers["access-control-allow-methods"]).toBe("PATCH, DELETE, OPTIONS");
    expect(preflight.headers["access-control-allow-headers"]).toContain("authorization");
    expect(preflight.headers.vary).toBe("Origin");

    const read = await call("GET", "/api/status", { headers: { origin: "https://ops.example.com" } });
    expect(read.headers["access-control-allow-origin"]).toBe("https://ops.example.com");

    const stranger = await call("OPTIONS", "/api/servers/a", {
      token: null,
      headers: { origin: "https://evil.example", "access-control-request-method": "PATCH" },
    });
    expect(stranger.status).toBe(204);
    expect(stranger.headers["access-control-allow-origin"]).toBeUndefined();
    expect(stranger.headers["access-control-allow-methods"]).toBeUndefined();
    const strangerRead = await call("GET", "/api/status", { headers: { origin: "https://evil.example" } });
    expect(strangerRead.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("sends no CORS headers when CORS is not configured", async () => {
    const { call } = await startAdmin();
    const preflight = await call("OPTIONS", "/api/servers", {
      token: null,
      headers: { origin: "https://ops.example.com", "access-control-request-method": "POST" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.allow).toBe("GET, HEAD, POST, OPTIONS");
    expect(preflight.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("answers an unexpected failure with 500 SY_ERR_INTERNAL, logged, without internals", async () => {
    const { logger, entries } = capturingLogger();
    const admin = await startAdmin({ logger });
    vi.spyOn(admin.balancers.get("web") as Balancer, "stats").mockImplementation(() => {
      throw new Error("boom in stats");
    });
    const reply = await admin.call("GET", "/api/stats");
    expect(reply.status).toBe(500);
    expect(reply.json.error).toBe("SY_ERR_INTERNAL");
    expect(reply.text).not.toContain("boom");
    expect(entries.find((entry) => entry.msg === "admin request failed")).toMatchObject({
      level: 50,
      path: "/api/stats",
    });
    expect((await admin.call("GET", "/health")).status).toBe(200);
  });

  it("rejects with the system error for a port in use, and closes idempotently", async () => {
    const first = await startAdmin();
    const second = new AdminServer({ balancers: first.balancers, port: first.port });
    await expect(second.listen()).rejects.toMatchObject({ code: "EADDRINUSE" });
    expect(second.address).toBeUndefined();
    expect(first.admin.address).toEqual({ host: "127.0.0.1", port: first.port });
    await Promise.all([first.admin.close(), first.admin.close()]);
    expect(first.admin.address).toBeUndefined();
  });
});
