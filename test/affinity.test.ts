/**
 * Session affinity end to end: real backends and real HttpProxy instances on
 * 127.0.0.1 (ports from the OS). Cookie stickiness across 100 requests,
 * migration when the pinned backend goes down, tampered cookies, two proxies
 * sharing the secret, a cookie pool without a secret, IP and header modes.
 */
import { describe, expect, it } from "vitest";
import type { AffinityOptions } from "../src/affinity/affinity.js";
import { createBalancer } from "../src/balancer/balancer.js";
import { parseConfig } from "../src/config/load.js";
import { HttpProxy } from "../src/proxy/http-proxy.js";
import { useCleanups } from "./helpers/fixtures.js";
import { request, startServer, type TestServer } from "./helpers/servers.js";

const SECRET = "shared-secret-for-affinity-tests";
const cleanups = useCleanups();

/** A backend answering with its name and a cookie of its own (which must survive beside ours). */
async function backend(name: string): Promise<TestServer> {
  const server = await startServer((_req, res) => {
    res.setHeader("x-backend", name);
    res.setHeader("set-cookie", [`app=${name}; Path=/`]);
    res.end(name);
  });
  cleanups.push(() => server.close());
  return server;
}

async function backends(count: number): Promise<{ id: string; address: string }[]> {
  const names = Array.from({ length: count }, (_, index) => `b${index}`);
  const servers = await Promise.all(names.map((name) => backend(name)));
  return servers.map((server, index) => ({ id: names[index] as string, address: server.address }));
}

async function startProxy(specs: { id?: string; address: string }[], affinity: AffinityOptions) {
  const balancer = createBalancer({ backends: specs, affinity });
  const proxy = new HttpProxy({ balancer });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return { balancer, port };
}

function setCookies(headers: Record<string, unknown>): string[] {
  const value = headers["set-cookie"];
  return Array.isArray(value) ? value : [];
}

/** The sy_affinity cookie value from a response, if one was set. */
function affinityCookie(headers: Record<string, unknown>): string | undefined {
  for (const line of setCookies(headers)) {
    const match = /^sy_affinity=([^;]+);/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

describe("cookie affinity through the proxy", () => {
  it("keeps 100 requests with one cookie on one backend, then migrates once when it goes down", async () => {
    const { balancer, port } = await startProxy(await backends(3), { mode: "cookie", secret: SECRET });
    const first = await request({ port });
    const cookie = affinityCookie(first.headers);
    expect(cookie).toBeDefined();
    expect(setCookies(first.headers)).toContain(`app=${first.text}; Path=/`); // backend's own kept
    const pinned = first.text;

    for (let i = 0; i < 100; i++) {
      const response = await request({ port, headers: { cookie: `other=1; sy_affinity=${cookie}` } });
      expect(response.text).toBe(pinned);
      expect(affinityCookie(response.headers)).toBeUndefined(); // no renewal within ttl/10
    }

    balancer.pool.setState(pinned, "unhealthy");
    const moved = await request({ port, headers: { cookie: `sy_affinity=${cookie}` } });
    expect(moved.text).not.toBe(pinned);
    const newCookie = affinityCookie(moved.headers);
    expect(newCookie).toBeDefined();
    expect(newCookie).not.toBe(cookie);
    for (let i = 0; i < 20; i++) {
      const response = await request({ port, headers: { cookie: `sy_affinity=${newCookie}` } });
      expect(response.text).toBe(moved.text);
      expect(affinityCookie(response.headers)).toBeUndefined();
    }
    const stats = balancer.stats();
    expect(stats.affinity?.migrations).toBe(1);
    expect(stats.backends.find((entry) => entry.id === moved.text)?.sessions).toBe(1);
  });

  it("migrates a session whose backend was removed", async () => {
    const { balancer, port } = await startProxy(await backends(2), { mode: "cookie", secret: SECRET });
    const first = await request({ port });
    const cookie = affinityCookie(first.headers);
    await balancer.pool.remove(first.text);
    const moved = await request({ port, headers: { cookie: `sy_affinity=${cookie}` } });
    expect(moved.text).not.toBe(first.text);
    expect(affinityCookie(moved.headers)).toBeDefined();
    expect(balancer.stats().affinity?.migrations).toBe(1);
  });

  it("ignores a tampered cookie and re-pins the client", async () => {
    const { balancer, port } = await startProxy(await backends(3), { mode: "cookie", secret: SECRET });
    const first = await request({ port });
    const cookie = Buffer.from(affinityCookie(first.headers) as string, "base64url");
    // Claim another backend: flip the ciphertext bits that turn "b0" into "b1" (or back),
    // keeping the old tag, which no longer matches.
    const forgedBytes = Buffer.from(cookie);
    forgedBytes[12 + 1] = (forgedBytes[12 + 1] as number) ^ 1;
    const forged = forgedBytes.toString("base64url");
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => request({ port, headers: { cookie: `sy_affinity=${forged}` } })),
    );
    // Each forged request is treated as a new session: it gets a fresh, valid cookie.
    for (const response of responses) expect(affinityCookie(response.headers)).toBeDefined();
    expect(new Set(responses.map((response) => response.text)).size).toBeGreaterThan(1);
    expect(balancer.stats().affinity).toMatchObject({ cookiesRejected: 6, migrations: 0, pinned: 0 });
  });

  it("two proxies sharing the secret honour each other's cookies", async () => {
    const specs = await backends(3);
    const one = await startProxy(specs, { mode: "cookie", secret: SECRET });
    const two = await startProxy(specs, { mode: "cookie", secret: SECRET });
    const other = await startProxy(specs, { mode: "cookie", secret: "a-different-secret-0000" });
    // Move the second proxy's round-robin so it would pick differently on its own.
    for (const { port } of [two, two]) await request({ port });

    for (let session = 0; session < 3; session++) {
      const issued = await request({ port: one.port });
      const cookie = affinityCookie(issued.headers);
      for (let i = 0; i < 10; i++) {
        const response = await request({ port: two.port, headers: { cookie: `sy_affinity=${cookie}` } });
        expect(response.text).toBe(issued.text);
        expect(affinityCookie(response.headers)).toBeUndefined();
      }
    }
    expect(two.balancer.stats().affinity?.pinned).toBe(30);
    await request({
      port: other.port,
      headers: { cookie: `sy_affinity=${affinityCookie((await request({ port: one.port })).headers)}` },
    });
    expect(other.balancer.stats().affinity).toMatchObject({ cookiesRejected: 1, pinned: 0 });
  });
});

describe("cookie affinity without a secret", () => {
  it("keeps a client on one backend, with a cookie that does not show the backend's address", async () => {
    const specs = (await backends(3)).map(({ address }) => ({ address })); // ids are the addresses
    const { balancer, port } = await startProxy(specs, { mode: "cookie" });
    const first = await request({ port });
    const cookie = affinityCookie(first.headers) as string;
    for (const { address } of specs) {
      const [host, backendPort] = address.split(":") as [string, string];
      const decoded = Buffer.from(cookie, "base64url").toString("latin1");
      expect(`${cookie} ${decoded}`).not.toContain(host);
      expect(decoded).not.toContain(backendPort);
    }
    for (let i = 0; i < 10; i++) {
      const response = await request({ port, headers: { cookie: `sy_affinity=${cookie}` } });
      expect(response.text).toBe(first.text);
    }
    expect(balancer.stats().affinity).toMatchObject({ pinned: 10, cookiesRejected: 0 });
  });
});

describe("ip and header affinity through the proxy", () => {
  it("ip mode keeps a client address on one backend", async () => {
    const { balancer, port } = await startProxy(await backends(3), { mode: "ip" });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add((await request({ port })).text);
    expect(seen.size).toBe(1);
    const stats = balancer.stats();
    expect(stats.affinity).toMatchObject({ mode: "ip", sessions: 1, pinned: 29, created: 1 });
    expect(stats.backends.find((entry) => entry.id === [...seen][0])?.sessions).toBe(1);
  });

  it("header mode keeps each session key on its backend", async () => {
    const { port } = await startProxy(await backends(3), { mode: "header", header: "X-Session-Id" });
    const chosen = new Map<string, string>();
    for (let round = 0; round < 5; round++) {
      for (const user of ["alice", "bob", "carol"]) {
        const response = await request({ port, headers: { "x-session-id": user } });
        expect(affinityCookie(response.headers)).toBeUndefined();
        if (round === 0) chosen.set(user, response.text);
        else expect(response.text).toBe(chosen.get(user));
      }
    }
    expect(new Set(chosen.values()).size).toBe(3); // round-robin spread the first requests
  });
});

describe("affinity config", () => {
  const base = (affinity: unknown) => ({
    listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "app" }],
    pools: { app: { backends: [{ address: "127.0.0.1:9001" }], affinity } },
  });

  it("takes cookie mode without a secret", () => {
    expect(parseConfig(base({ mode: "cookie" })).pools.app?.affinity).toMatchObject({ mode: "cookie" });
  });

  it("fills defaults", () => {
    const config = parseConfig(base({ mode: "cookie", secret: SECRET }));
    expect(config.pools.app?.affinity).toMatchObject({ cookieName: "sy_affinity", ttlMs: 1_800_000 });
  });
});
