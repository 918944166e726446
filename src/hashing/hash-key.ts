/**
 * Where a hash-based selector finds a request's key (the consistent-hashing HTTP balancer: client IP,
 * header, cookie, URL path, query parameter, or a function), and how a key
 * becomes a position: `mixSigned(hash(key))`, a signed 32-bit integer.
 *
 * A request without its key still has to go somewhere. The fallback, per
 * selector: hash the client IP (so a client without the header still sticks
 * to one backend); failing that, take the next step of a rotating counter
 * spread over the hash space by the golden ratio (a Weyl sequence), so keyless
 * requests share the pool in proportion to each backend's share of it instead
 * of all landing on one backend. `KeyHasher.origin` says which one was used,
 * for explanations.
 *
 * Config form: `{ source: "header", name: "x-user-id" }`, or `path` /
 * `client-ip` alone; library users may
 * pass `(ctx) => string | undefined` instead. Extractors are built once, and a
 * lookup returns a string already on the context or a slice of one (a query
 * value, a cookie found in the raw header); nothing else is allocated. Query
 * values are hashed as sent, not percent-decoded.
 */
import { z } from "zod";
import type { RequestContext } from "../core/context.js";
import { unmapIpv4 } from "../core/ipv4-mapped.js";
import { type HashFunction, mixSigned } from "./hash-functions.js";

export const HASH_KEY_SOURCES = ["client-ip", "header", "cookie", "path", "query"] as const;

export type HashKeySource = (typeof HASH_KEY_SOURCES)[number];

export interface HashKeyConfig {
  source: HashKeySource;
  /** Header, cookie or query parameter name; required for those sources. */
  name?: string | undefined;
}

/** A key taken from the request by code; undefined or "" means "no key". */
export type HashKeyFunction = (ctx: RequestContext) => string | undefined;

export type HashKeyOption = HashKeyConfig | HashKeyFunction;

const NAMED_SOURCES: ReadonlySet<HashKeySource> = new Set(["header", "cookie", "query"]);

export const hashKeyConfigSchema = z
  .strictObject({
    source: z.enum(HASH_KEY_SOURCES).describe("the part of the request hashed"),
    name: z.string().min(1).optional().describe("the header, cookie or query parameter (required for those)"),
  })
  .refine((config) => !NAMED_SOURCES.has(config.source) || config.name !== undefined, {
    message: "name is required when source is header, cookie or query",
    path: ["name"],
  });

const EXPECTED_KEY =
  "expected client-ip, path, { source: client-ip | header | cookie | path | query, name? } or a function (ctx) => string | undefined";

/**
 * `hashKey: path` (the consistent-hashing HTTP balancer's default key) or
 * `hashKey: client-ip`: the sources that need no name, written bare.
 */
const bareSourceSchema = z.enum(["client-ip", "path"]).transform((source): HashKeyConfig => ({ source }));

export const hashKeyOptionSchema = z.union(
  [
    bareSourceSchema,
    hashKeyConfigSchema,
    z.custom<HashKeyFunction>((value) => typeof value === "function", EXPECTED_KEY),
  ],
  { error: EXPECTED_KEY },
);

/** Which rule produced the last position: the configured key, the client IP, or the rotation. */
export type KeyOrigin = "key" | "client-ip" | "rotation";

/** Golden-ratio step: consecutive rotation positions are as evenly spread as any sequence can be. */
const WEYL_STEP = 0x9e3779b9;

/** Turns requests into positions in 32-bit hash space; one per selector. */
export class KeyHasher {
  /** Which rule produced the last position returned by `point`. */
  origin: KeyOrigin = "key";
  readonly #extract: HashKeyFunction;
  readonly #hash: HashFunction;
  readonly #ipFallback: boolean;
  #rotation = 0;

  /** `hash` is best taken from `signedHashFunctions`, which return unboxed integers. */
  constructor(option: HashKeyOption, hash: HashFunction) {
    this.#extract = keyExtractor(option);
    this.#hash = hash;
    this.#ipFallback = typeof option === "function" || option.source !== "client-ip";
  }

  /** The request's position: a signed 32-bit integer. */
  point(ctx: RequestContext): number {
    const key = this.#extract(ctx);
    if (key) {
      this.origin = "key";
      return mixSigned(this.#hash(key));
    }
    if (this.#ipFallback) {
      const ip = unmapIpv4(ctx.clientIp);
      if (ip) {
        this.origin = "client-ip";
        return mixSigned(this.#hash(ip));
      }
    }
    this.origin = "rotation";
    this.#rotation = (this.#rotation + 1) | 0;
    return Math.imul(this.#rotation, WEYL_STEP);
  }
}

/**
 * Builds the lookup for `option` once; the result allocates nothing beyond a
 * substring. A key function that throws yields "no key" (the fallback), and a
 * non-string result is turned into a string, so a buggy function cannot fail
 * the request.
 */
export function keyExtractor(option: HashKeyOption): HashKeyFunction {
  if (typeof option === "function") {
    return (ctx) => {
      let key: unknown;
      try {
        key = option(ctx);
      } catch {
        return undefined;
      }
      return typeof key === "string" ? key : key === undefined || key === null ? undefined : String(key);
    };
  }
  const name = option.name ?? "";
  switch (option.source) {
    case "client-ip":
      return (ctx) => unmapIpv4(ctx.clientIp);
    case "header": {
      const header = name.toLowerCase();
      return (ctx) => {
        const value = ctx.headers?.[header];
        return Array.isArray(value) ? value[0] : (value as string | undefined);
      };
    }
    case "cookie":
      return (ctx) => {
        if (ctx.cookies) return ctx.cookies[name];
        const header = ctx.headers?.cookie;
        return cookieValue(Array.isArray(header) ? header[0] : (header as string | undefined), name);
      };
    case "path":
      return (ctx) => pathOnly(ctx.path);
    case "query":
      return (ctx) => queryValue(ctx.path, name);
  }
}

/** Human wording of a key option, for explanations. */
export function describeHashKey(option: HashKeyOption): string {
  if (typeof option === "function") return "custom key function";
  switch (option.source) {
    case "client-ip":
      return "client IP";
    case "header":
      return `header "${option.name}"`;
    case "cookie":
      return `cookie "${option.name}"`;
    case "path":
      return "URL path";
    case "query":
      return `query parameter "${option.name}"`;
  }
}

/** The path without its query string. */
export function pathOnly(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  const end = path.indexOf("?");
  return end < 0 ? path : path.slice(0, end);
}

/** The raw (not percent-decoded) value of query parameter `name` in `path`, first occurrence. */
export function queryValue(path: string | undefined, name: string): string | undefined {
  if (path === undefined) return undefined;
  const query = path.indexOf("?");
  if (query < 0) return undefined;
  const fragment = path.indexOf("#", query);
  const end = fragment < 0 ? path.length : fragment;
  let start = query + 1;
  while (start < end) {
    let stop = path.indexOf("&", start);
    if (stop < 0 || stop > end) stop = end;
    const afterName = start + name.length;
    if (afterName < stop && path.charCodeAt(afterName) === 0x3d /* = */ && path.startsWith(name, start)) {
      return path.slice(afterName + 1, stop);
    }
    start = stop + 1;
  }
  return undefined;
}

/** The value of cookie `name` in a raw `Cookie` header, first occurrence. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let start = 0;
  while (start < header.length) {
    while (header.charCodeAt(start) === 0x20 /* space */) start++;
    let stop = header.indexOf(";", start);
    if (stop < 0) stop = header.length;
    const afterName = start + name.length;
    if (afterName < stop && header.charCodeAt(afterName) === 0x3d /* = */ && header.startsWith(name, start)) {
      let valueEnd = stop;
      while (valueEnd > afterName + 1 && header.charCodeAt(valueEnd - 1) === 0x20) valueEnd--;
      return header.slice(afterName + 1, valueEnd);
    }
    start = stop + 1;
  }
  return undefined;
}
