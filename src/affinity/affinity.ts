/**
 * Session affinity: keeps a client on the backend it was first sent to.
 *
 * - `cookie`: stateless. The balancer issues an encrypted, authenticated
 *   cookie naming the backend and its expiry (see cookie.ts); every instance
 *   sharing the secret honours it. Without a secret, one is generated per
 *   start (generated-secret.ts) and `secretGenerated` says so. Active
 *   sessions per backend are the distinct live cookies seen in the last TTL
 *   (a bounded table keyed by the cookie's tag; a renewed or re-pinned cookie
 *   replaces its predecessor), so they are per instance.
 * - `ip`: the client address is the key; `header`: a named request header.
 *   Pins live in a bounded LRU table with a sliding TTL.
 *
 * In every mode an explicit `ctx.sessionId` (library use, DWCP's
 * `SelectServer(clientIP, sessionID)`) is the key, ahead of the address or
 * header; in cookie mode a valid cookie still comes first.
 *
 * The balancer asks `lookup(ctx)` before running its algorithm and honours the
 * pin when that backend is ready; it then calls `bind(lookup, backendId)`,
 * which records the pin, counts a migration when a live pin moved, and says
 * which Set-Cookie to send (cookie mode: on a new pin, a migration, or a
 * sliding renewal at most every TTL/10).
 */
import type { KeyObject } from "node:crypto";
import { z } from "zod";
import type { RequestContext } from "../core/context.js";
import { parseCookies } from "../core/context.js";
import { durationMs } from "../core/duration.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { type AffinityCookie, affinityCookieKey, openAffinityCookie, sealAffinityCookie } from "./cookie.js";
import { generatedAffinitySecret } from "./generated-secret.js";
import { SessionTable } from "./session-table.js";

export const AFFINITY_MODES = ["cookie", "ip", "header"] as const;
export type AffinityMode = (typeof AFFINITY_MODES)[number];

export const DEFAULT_AFFINITY_COOKIE = "sy_affinity";
export const DEFAULT_AFFINITY_TTL_MS = 30 * 60_000;
export const DEFAULT_AFFINITY_MAX_ENTRIES = 100_000;

const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Pool-level `affinity` (config) and the balancer's `affinity` option. */
export const affinitySchema = z
  .strictObject({
    mode: z
      .enum(AFFINITY_MODES, { error: 'expected "cookie", "ip" or "header"' })
      .describe("what keeps a client on its backend: a cookie, its IP address or a request header"),
    cookieName: z
      .string()
      .regex(COOKIE_NAME, { error: "expected a cookie name (letters, digits, -_.!#$%&'*+^`|~)" })
      .default(DEFAULT_AFFINITY_COOKIE)
      .describe("cookie mode: the cookie's name"),
    header: z
      .string()
      .regex(HEADER_NAME, { error: "expected an HTTP header name" })
      .transform((name) => name.toLowerCase())
      .optional()
      .describe("header mode: the request header carrying the session key"),
    ttlMs: durationMs(1000, 365 * 24 * 3_600_000)
      .default(DEFAULT_AFFINITY_TTL_MS)
      .describe("session lifetime, sliding: every request renews it"),
    secret: z
      .string({ error: "expected a string of at least 16 characters" })
      .min(16, { error: "expected a string of at least 16 characters" })
      .optional()
      .describe(
        "cookie mode: key of the cookies, shared by every instance that must honour them; absent: random per start",
      ),
    secure: z.boolean().default(false).describe("cookie mode: mark the cookie Secure (sent over HTTPS only)"),
    maxEntries: z
      .number()
      .int()
      .min(1, { error: "expected an integer from 1 to 10000000" })
      .max(10_000_000, { error: "expected an integer from 1 to 10000000" })
      .default(DEFAULT_AFFINITY_MAX_ENTRIES)
      .describe("bound on the session table (ip/header pins, recent cookies); oldest evicted first"),
  })
  .superRefine((value, ctx) => {
    if (value.mode === "header" && value.header === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["header"],
        message: "header affinity needs the name of the request header carrying the session key",
      });
    }
  });

export type AffinityOptions = z.input<typeof affinitySchema>;
export type AffinityConfig = z.output<typeof affinitySchema>;

/** What `lookup` found for one request. */
export interface AffinityLookup {
  /** Key in the session table (ip, header or `ctx.sessionId`); undefined when the request has none. */
  readonly key: string | undefined;
  /** A verified cookie (cookie mode). */
  readonly cookie: AffinityCookie | undefined;
  /** The backend the session is pinned to, when there is a live pin. */
  readonly backendId: string | undefined;
}

export interface AffinityStats {
  mode: AffinityMode;
  ttlMs: number;
  /** Requests sent to their pinned backend. */
  pinned: number;
  /** New sessions pinned (no live pin before). */
  created: number;
  /** Live pins moved to another backend (unhealthy, draining, removed or failed over). */
  migrations: number;
  /** Set-Cookie headers issued (cookie mode: new, migrated and renewed). */
  cookiesIssued: number;
  /** Cookies presented but rejected (tampered, malformed or expired). */
  cookiesRejected: number;
  /** Live sessions in total (sum of `sessionsByBackend`). */
  sessions: number;
  sessionsByBackend: Record<string, number>;
}

const NO_PIN: AffinityLookup = Object.freeze({ key: undefined, cookie: undefined, backendId: undefined });

export class Affinity {
  readonly config: AffinityConfig;
  readonly #now: () => number;
  /** ip/header/sessionId pins. */
  readonly #pins: SessionTable;
  /** Cookie mode: live cookies seen, by MAC, for the active-session count. */
  readonly #cookies: SessionTable;
  readonly #renewAfterMs: number;
  /** Cookie mode: the key derived from the secret. */
  readonly #cookieKey: KeyObject | undefined;
  /** Cookie mode without a configured secret: cookies hold for this start of this instance only. */
  readonly secretGenerated: boolean;
  #pinned = 0;
  #created = 0;
  #migrations = 0;
  #issued = 0;
  #rejected = 0;

  /** `now` is a wall clock in epoch ms (cookies carry absolute expiries); default Date.now. */
  constructor(options: AffinityOptions | AffinityConfig, now: () => number = Date.now) {
    const parsed = affinitySchema.safeParse(options);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `affinity.${issue.path.join(".")}: ${issue.message}`);
      throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, issues.join("; "), {
        issues: parsed.error.issues,
      });
    }
    this.config = parsed.data;
    this.#now = now;
    this.#pins = new SessionTable(this.config.ttlMs, this.config.maxEntries, now);
    this.#cookies = new SessionTable(this.config.ttlMs, this.config.maxEntries, now);
    this.#renewAfterMs = this.config.ttlMs / 10;
    const cookieMode = this.config.mode === "cookie";
    this.secretGenerated = cookieMode && this.config.secret === undefined;
    this.#cookieKey = cookieMode
      ? affinityCookieKey(this.config.secret ?? generatedAffinitySecret())
      : undefined;
  }

  get mode(): AffinityMode {
    return this.config.mode;
  }

  /** Finds the request's session key and its live pin, if any. */
  lookup(ctx: RequestContext): AffinityLookup {
    const config = this.config;
    if (config.mode === "cookie") {
      const value = cookieValue(ctx, config.cookieName);
      if (value !== undefined) {
        const cookie = openAffinityCookie(this.#cookieKey as KeyObject, value, this.#now());
        if (cookie !== undefined) return { key: undefined, cookie, backendId: cookie.backendId };
        this.#rejected++;
      }
    }
    const key = this.#keyOf(ctx);
    if (key === undefined) return NO_PIN;
    return { key, cookie: undefined, backendId: this.#pins.get(key)?.backendId };
  }

  /**
   * Records that the request of `lookup` goes to `backendId` and returns the
   * Set-Cookie header value to send, if any. `routedByPin` says the pin was
   * honoured (counted as such).
   */
  bind(lookup: AffinityLookup, backendId: string, routedByPin: boolean): string | undefined {
    if (routedByPin) this.#pinned++;
    else if (lookup.backendId === undefined) this.#created++;
    else if (lookup.backendId !== backendId) this.#migrations++;
    if (lookup.key !== undefined) this.#pins.set(lookup.key, backendId);
    if (this.config.mode !== "cookie") return undefined;
    const cookie = lookup.cookie;
    const now = this.#now();
    if (
      cookie !== undefined &&
      cookie.backendId === backendId &&
      now - (cookie.expiresAt - this.config.ttlMs) < this.#renewAfterMs
    ) {
      this.#cookies.set(cookie.signature, backendId);
      return undefined;
    }
    if (cookie !== undefined) this.#cookies.delete(cookie.signature);
    const expiresAt = Math.floor(now) + this.config.ttlMs;
    const { value, signature } = sealAffinityCookie(this.#cookieKey as KeyObject, backendId, expiresAt);
    this.#cookies.set(signature, backendId);
    this.#issued++;
    return this.setCookie(value);
  }

  /** The Set-Cookie header value carrying `value`. */
  setCookie(value: string): string {
    const secure = this.config.secure ? "; Secure" : "";
    return `${this.config.cookieName}=${value}; Path=/; Max-Age=${Math.ceil(this.config.ttlMs / 1000)}; HttpOnly; SameSite=Lax${secure}`;
  }

  /** Live sessions per backend id (ip/header/sessionId pins plus, in cookie mode, recent cookies). */
  sessionsByBackend(): Map<string, number> {
    const counts = this.#pins.countByBackend();
    for (const [id, count] of this.#cookies.countByBackend()) counts.set(id, (counts.get(id) ?? 0) + count);
    return counts;
  }

  stats(): AffinityStats {
    const byBackend = this.sessionsByBackend();
    let sessions = 0;
    for (const count of byBackend.values()) sessions += count;
    return {
      mode: this.config.mode,
      ttlMs: this.config.ttlMs,
      pinned: this.#pinned,
      created: this.#created,
      migrations: this.#migrations,
      cookiesIssued: this.#issued,
      cookiesRejected: this.#rejected,
      sessions,
      sessionsByBackend: Object.fromEntries(byBackend),
    };
  }

  #keyOf(ctx: RequestContext): string | undefined {
    if (ctx.sessionId !== undefined && ctx.sessionId !== "") return `s:${ctx.sessionId}`;
    const config = this.config;
    if (config.mode === "ip") return ctx.clientIp ? `i:${ctx.clientIp}` : undefined;
    if (config.mode === "header") {
      const raw = ctx.headers?.[config.header as string];
      const value = Array.isArray(raw) ? raw[0] : raw;
      return value ? `h:${value}` : undefined;
    }
    return undefined;
  }
}

function cookieValue(ctx: RequestContext, name: string): string | undefined {
  const parsed = ctx.cookies?.[name];
  if (parsed !== undefined) return parsed;
  const raw = ctx.headers?.cookie;
  if (raw === undefined) return undefined;
  const header = Array.isArray(raw) ? raw.join("; ") : raw;
  if (!header.includes(name)) return undefined;
  return parseCookies(header)[name];
}
