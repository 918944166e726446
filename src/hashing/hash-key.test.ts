import { describe, expect, it } from "vitest";
import { fnv1a, mixSigned, xxhash } from "./hash-functions.js";
import {
  cookieValue,
  describeHashKey,
  hashKeyConfigSchema,
  hashKeyOptionSchema,
  KeyHasher,
  keyExtractor,
  pathOnly,
  queryValue,
} from "./hash-key.js";

describe("hash key extraction", () => {
  it("reads the client IP, unwrapping IPv4-mapped IPv6", () => {
    const key = keyExtractor({ source: "client-ip" });
    expect(key({ clientIp: "203.0.113.45" })).toBe("203.0.113.45");
    expect(key({ clientIp: "::ffff:203.0.113.45" })).toBe("203.0.113.45");
    expect(key({ clientIp: "2001:db8::1" })).toBe("2001:db8::1");
    expect(key({})).toBeUndefined();
  });

  it("reads a header case-insensitively, first value of a repeated one", () => {
    const key = keyExtractor({ source: "header", name: "X-User-Id" });
    expect(key({ headers: { "x-user-id": "u42" } })).toBe("u42");
    expect(key({ headers: { "x-user-id": ["u1", "u2"] } })).toBe("u1");
    expect(key({ headers: {} })).toBeUndefined();
    expect(key({})).toBeUndefined();
  });

  it("reads a cookie from parsed cookies, or from the raw header when none were parsed", () => {
    const key = keyExtractor({ source: "cookie", name: "sid" });
    expect(key({ cookies: { sid: "abc" } })).toBe("abc");
    expect(key({ cookies: {}, headers: { cookie: "sid=ignored" } })).toBeUndefined();
    expect(key({ headers: { cookie: "theme=dark; sid=xyz ; other=1" } })).toBe("xyz");
    expect(cookieValue("sid=first; sid=second", "sid")).toBe("first");
    expect(cookieValue("xsid=1; sidx=2", "sid")).toBeUndefined();
    expect(cookieValue(undefined, "sid")).toBeUndefined();
  });

  it("reads the path without its query", () => {
    const key = keyExtractor({ source: "path" });
    expect(key({ path: "/users/7?tab=1" })).toBe("/users/7");
    expect(key({ path: "/users/7" })).toBe("/users/7");
    expect(pathOnly(undefined)).toBeUndefined();
  });

  it("reads a query parameter's raw value, first occurrence, ignoring prefixes and the fragment", () => {
    const key = keyExtractor({ source: "query", name: "user" });
    expect(key({ path: "/a?user=alice&x=1" })).toBe("alice");
    expect(key({ path: "/a?xuser=no&user=bob" })).toBe("bob");
    expect(key({ path: "/a?user=a%20b" })).toBe("a%20b");
    expect(key({ path: "/a?user=1&user=2" })).toBe("1");
    expect(queryValue("/a?user=carol#frag", "user")).toBe("carol");
    expect(queryValue("/a?x=1#user=no", "user")).toBeUndefined();
    expect(queryValue("/a?user", "user")).toBeUndefined();
    expect(queryValue("/a", "user")).toBeUndefined();
  });

  it("calls a function, treating a throw as no key and a non-string as its string", () => {
    expect(keyExtractor((ctx) => ctx.sessionId)({ sessionId: "s1" })).toBe("s1");
    const throwing = keyExtractor(() => {
      throw new Error("bug");
    });
    expect(throwing({})).toBeUndefined();
    expect(keyExtractor((() => 42) as never)({})).toBe("42");
    expect(keyExtractor((() => null) as never)({})).toBeUndefined();
  });

  it("describes each source", () => {
    expect(describeHashKey({ source: "header", name: "x-user" })).toBe('header "x-user"');
    expect(describeHashKey({ source: "client-ip" })).toBe("client IP");
    expect(describeHashKey(() => undefined)).toBe("custom key function");
  });
});

describe("hash key schema", () => {
  it("accepts each source and requires a name where one is needed", () => {
    expect(hashKeyConfigSchema.parse({ source: "client-ip" })).toEqual({ source: "client-ip" });
    expect(hashKeyConfigSchema.parse({ source: "query", name: "u" })).toEqual({ source: "query", name: "u" });
    const missing = hashKeyConfigSchema.safeParse({ source: "header" });
    expect(missing.success).toBe(false);
    expect(missing.error?.issues[0]?.path).toEqual(["name"]);
    expect(missing.error?.issues[0]?.message).toMatch(/name is required/);
    expect(hashKeyConfigSchema.safeParse({ source: "body" }).success).toBe(false);
    expect(hashKeyConfigSchema.safeParse({ source: "path", extra: 1 }).success).toBe(false);
  });

  it("accepts a function in the option form", () => {
    const fn = () => "k";
    expect(hashKeyOptionSchema.parse(fn)).toBe(fn);
    const bad = hashKeyOptionSchema.safeParse({ source: "body" });
    expect(bad.error?.issues[0]?.message).toMatch(/expected client-ip, path, \{ source: client-ip \| header/);
    expect(hashKeyOptionSchema.safeParse(42).success).toBe(false);
    expect(hashKeyOptionSchema.safeParse({ source: "cookie" }).error?.issues[0]?.message).toMatch(
      /name is required/,
    );
  });
});

describe("KeyHasher", () => {
  it("positions a key at mixSigned(hash(key))", () => {
    const hasher = new KeyHasher({ source: "header", name: "x-k" }, fnv1a);
    expect(hasher.point({ headers: { "x-k": "abc" } })).toBe(mixSigned(fnv1a("abc")));
    expect(hasher.origin).toBe("key");
  });

  it("falls back to the client IP, then to a rotation", () => {
    const hasher = new KeyHasher({ source: "cookie", name: "sid" }, xxhash);
    expect(hasher.point({ clientIp: "10.0.0.1", cookies: {} })).toBe(mixSigned(xxhash("10.0.0.1")));
    expect(hasher.origin).toBe("client-ip");
    expect(hasher.point({ cookies: { sid: "" } })).not.toBe(hasher.point({}));
    expect(hasher.origin).toBe("rotation");
  });

  it("spreads keyless requests evenly over the hash space", () => {
    const hasher = new KeyHasher({ source: "client-ip" }, xxhash);
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 1600; i++) {
      const bucket = hasher.point({}) >>> 28;
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    for (const count of buckets) expect(Math.abs(count - 100)).toBeLessThanOrEqual(2);
  });
});
