import { describe, expect, it } from "vitest";
import { createBalancer } from "../balancer/balancer.js";
import type { RequestContext } from "../core/context.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { Affinity, DEFAULT_AFFINITY_TTL_MS } from "./affinity.js";
import { affinityCookieKey, openAffinityCookie, sealAffinityCookie } from "./cookie.js";
import { SessionTable } from "./session-table.js";

const SECRET = "0123456789abcdef-test-secret";
const KEY = affinityCookieKey(SECRET);
const BACKENDS = ["a", "b", "c"].map((id, index) => ({ id, address: `127.0.0.1:${9001 + index}` }));

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

/** The cookie value inside a Set-Cookie header value. */
function cookieIn(setCookie: string | undefined): string {
  const match = /^sy_affinity=([^;]+);/.exec(setCookie ?? "");
  if (!match) throw new Error(`no affinity cookie in ${setCookie}`);
  return match[1] as string;
}

describe("affinity cookies", () => {
  it("round-trips, and rejects tampering, a wrong secret and expiry", () => {
    const { value, signature } = sealAffinityCookie(KEY, "backend.with.dots", 2_000);
    expect(openAffinityCookie(KEY, value, 1_000)).toEqual({
      backendId: "backend.with.dots",
      expiresAt: 2_000,
      signature,
    });
    expect(openAffinityCookie(KEY, value, 2_000)).toBeUndefined();
    expect(openAffinityCookie(affinityCookieKey("another-secret-0123456"), value, 1_000)).toBeUndefined();
    const bytes = Buffer.from(value, "base64url");
    for (const at of [0, 12, bytes.length - 1]) {
      const flipped = Buffer.from(bytes);
      flipped[at] = (flipped[at] as number) ^ 1;
      expect(openAffinityCookie(KEY, flipped.toString("base64url"), 1_000), `byte ${at}`).toBeUndefined();
    }
    expect(openAffinityCookie(KEY, "garbage", 1_000)).toBeUndefined();
    expect(openAffinityCookie(KEY, `${value}.x`, 1_000)).toBeUndefined();
    expect(openAffinityCookie(KEY, value.slice(0, 27), 1_000)).toBeUndefined();
  });

  it("does not show the backend: the value is encrypted, and differs at every issue", () => {
    const address = "10.20.30.40:8080";
    const first = sealAffinityCookie(KEY, address, 2_000);
    const second = sealAffinityCookie(KEY, address, 2_000);
    for (const { value } of [first, second]) {
      expect(value).not.toContain(address);
      expect(Buffer.from(value, "base64url").toString("latin1")).not.toContain("10.20.30.40");
      expect(openAffinityCookie(KEY, value, 1_000)?.backendId).toBe(address);
    }
    expect(second.value).not.toBe(first.value);
    expect(second.signature).not.toBe(first.signature);
  });
});

describe("SessionTable", () => {
  it("slides, expires lazily and evicts the least recently used", () => {
    const { now, advance } = clock(0);
    const table = new SessionTable(1_000, 2, now);
    table.set("x", "a");
    table.set("y", "b");
    advance(600);
    table.set("x", "a"); // slides x; y is now the oldest
    table.set("z", "c"); // evicts y
    expect(table.get("y")).toBeUndefined();
    advance(600);
    expect(table.get("x")?.backendId).toBe("a");
    expect(table.countByBackend()).toEqual(
      new Map([
        ["a", 1],
        ["c", 1],
      ]),
    );
    advance(1_000);
    expect(table.get("x")).toBeUndefined();
    expect(table.countByBackend().size).toBe(0);
  });
});

describe("Affinity options", () => {
  it("needs a header in header mode, naming the field", () => {
    expect(() => new Affinity({ mode: "header" })).toThrow(/affinity\.header:/);
    expect(new Affinity({ mode: "ip" }).config).toMatchObject({
      cookieName: "sy_affinity",
      ttlMs: DEFAULT_AFFINITY_TTL_MS,
    });
  });

  it("cookie mode without a secret signs with one generated per start, and the balancer warns", () => {
    const warnings: string[] = [];
    const logger = { ...silentLogger, warn: (message: string) => warnings.push(message) } as Logger;
    const one = createBalancer({ backends: BACKENDS, affinity: { mode: "cookie" }, logger });
    const two = createBalancer({ backends: BACKENDS, affinity: { mode: "cookie" } });
    expect(one.affinity?.secretGenerated).toBe(true);
    expect(warnings).toEqual([
      expect.stringMatching(/^cookie affinity without a secret: .*affinity\.secret/),
    ]);

    const issued = one.select({});
    const cookie = cookieIn(issued.session?.cookie(issued.backend));
    issued.finish({});
    // The same start (this process) honours it everywhere; a configured secret does not.
    const again = two.select({ cookies: { sy_affinity: cookie } });
    expect(again.backend.id).toBe(issued.backend.id);
    expect(again.explain().reason).toMatch(/^affinity \(cookie\)/);
    expect(openAffinityCookie(KEY, cookie, Date.now())).toBeUndefined();
    const configured = createBalancer({
      backends: BACKENDS,
      affinity: { mode: "cookie", secret: SECRET },
      logger,
    });
    expect(configured.affinity?.secretGenerated).toBe(false);
    expect(warnings).toHaveLength(1);
  });
});

describe("Balancer with affinity", () => {
  it("cookie mode pins, renews at most every ttl/10, and migrates when the backend goes down", () => {
    const { now, advance } = clock();
    const balancer = createBalancer({
      backends: BACKENDS,
      affinity: { mode: "cookie", secret: SECRET, ttlMs: 100_000 },
      wallClock: now,
    });
    const first = balancer.select({});
    first.finish({});
    const issued = first.session?.cookie(first.backend);
    expect(issued).toMatch(/^sy_affinity=[^;]+; Path=\/; Max-Age=100; HttpOnly; SameSite=Lax$/);
    let jar = cookieIn(issued);
    const ctx = (): RequestContext => ({ cookies: { sy_affinity: jar } });
    const pinnedTo = first.backend.id;
    for (let i = 0; i < 20; i++) {
      const decision = balancer.select(ctx());
      expect(decision.backend.id).toBe(pinnedTo);
      expect(decision.session?.cookie(decision.backend)).toBeUndefined();
      expect(decision.explain().reason).toMatch(/^affinity \(cookie\)/);
      decision.finish({});
    }
    advance(10_001);
    const renewed = balancer.select(ctx());
    expect(renewed.backend.id).toBe(pinnedTo);
    const renewal = cookieIn(renewed.session?.cookie(renewed.backend));
    expect(renewal).not.toBe(jar);
    jar = renewal; // the client keeps the newest cookie, as a browser does
    renewed.finish({});

    balancer.pool.setState(pinnedTo, "unhealthy");
    const moved = balancer.select(ctx());
    expect(moved.backend.id).not.toBe(pinnedTo);
    const reissued = moved.session?.cookie(moved.backend);
    expect(openAffinityCookie(KEY, cookieIn(reissued), now())?.backendId).toBe(moved.backend.id);
    moved.finish({});
    const stats = balancer.stats();
    expect(stats.affinity).toMatchObject({ mode: "cookie", migrations: 1, created: 1, pinned: 21 });
    expect(stats.backends.find((b) => b.id === moved.backend.id)?.sessions).toBe(1);
    expect(stats.backends.find((b) => b.id === pinnedTo)?.sessions).toBe(0);
  });

  it("ip mode pins by client address with a sliding TTL on the injected clock", () => {
    const { now, advance } = clock();
    const balancer = createBalancer({
      backends: BACKENDS,
      affinity: { mode: "ip", ttlMs: 10_000 },
      wallClock: now,
    });
    const pick = (clientIp: string): string => {
      const decision = balancer.select({ clientIp });
      decision.finish({});
      expect(decision.session?.cookie(decision.backend)).toBeUndefined();
      return decision.backend.id;
    };
    const one = pick("10.0.0.1");
    const two = pick("10.0.0.2");
    expect(two).not.toBe(one); // round-robin moved on for the new client
    for (let i = 0; i < 10; i++) {
      advance(9_000); // inside the sliding window each time
      expect(pick("10.0.0.1")).toBe(one);
    }
    expect(balancer.stats().affinity?.sessions).toBe(1); // 10.0.0.2 expired
    advance(10_000);
    pick("10.0.0.1");
    expect(balancer.stats().affinity).toMatchObject({ created: 3, migrations: 0 });
  });

  it("header mode and ctx.sessionId pin; a removed backend migrates the session", async () => {
    const balancer = createBalancer({
      backends: BACKENDS,
      affinity: { mode: "header", header: "X-Session" },
    });
    const pick = (ctx: RequestContext): string => {
      const decision = balancer.select(ctx);
      decision.finish({});
      return decision.backend.id;
    };
    const user = pick({ headers: { "x-session": "user-1" } });
    for (let i = 0; i < 5; i++) expect(pick({ headers: { "x-session": "user-1" } })).toBe(user);
    const session = pick({ sessionId: "s-42" });
    for (let i = 0; i < 5; i++) expect(pick({ sessionId: "s-42", clientIp: `10.1.0.${i}` })).toBe(session);

    await balancer.pool.remove(user);
    const moved = pick({ headers: { "x-session": "user-1" } });
    expect(moved).not.toBe(user);
    for (let i = 0; i < 5; i++) expect(pick({ headers: { "x-session": "user-1" } })).toBe(moved);
    expect(balancer.stats().affinity?.migrations).toBe(1);
  });

  it("re-pins a session to the backend that answered after a failover", () => {
    const balancer = createBalancer({
      backends: BACKENDS,
      affinity: { mode: "cookie", secret: SECRET },
      circuitBreaker: false,
    });
    const decision = balancer.select({});
    const first = decision.backend.id;
    const next = decision.next();
    expect(next?.id).toBeDefined();
    const cookie = decision.session?.cookie(decision.backend);
    decision.finish({});
    expect(openAffinityCookie(KEY, cookieIn(cookie), Date.now())?.backendId).toBe(next?.id);
    expect(next?.id).not.toBe(first);
  });
});
