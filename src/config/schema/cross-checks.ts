/**
 * Checks that span fields of the config: pool references, unique names, ids
 * and addresses, settings that only fit one protocol, reachable routes.
 */
import { isDeepStrictEqual } from "node:util";
import type { z } from "zod";
import { isRecord } from "../../core/is-record.js";
import { closest, type PathSegment } from "../errors.js";
import { parseListenAddress } from "./fields.js";

/**
 * Checks that span fields. Runs even when fields are invalid, so every access
 * is defensive: the value may be partly parsed.
 */
export function crossCheck(config: unknown, ctx: z.core.$RefinementCtx): void {
  if (!isRecord(config)) return;
  const pools = isRecord(config.pools) ? config.pools : {};
  const poolNames = Object.keys(pools);

  if (Array.isArray(config.listeners)) {
    const names = new Map<string, number>();
    const addresses = new Map<string, number>();
    config.listeners.forEach((listener: unknown, index) => {
      if (!isRecord(listener)) return;
      if (typeof listener.name === "string") {
        const first = names.get(listener.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["listeners", index, "name"],
            message: `expected a unique listener name; "${listener.name}" is also used by listeners[${first}]`,
          });
        } else names.set(listener.name, index);
      }
      const knownPool = (pool: unknown, path: PathSegment[]) => {
        if (typeof pool !== "string" || !isRecord(config.pools) || pool in pools) return;
        const suggestion = closest(pool, poolNames);
        ctx.addIssue({
          code: "custom",
          path,
          message:
            poolNames.length === 0
              ? "expected the name of a pool defined under pools (none are defined)"
              : `expected the name of a pool defined under pools: ${poolNames.join(", ")}`,
          params: suggestion ? { suggestion } : undefined,
        });
      };
      knownPool(listener.pool, ["listeners", index, "pool"]);
      const routed = Array.isArray(listener.routes) && listener.routes.length > 0;
      if (listener.pool === undefined && (!routed || listener.protocol === "tcp")) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "pool"],
          message:
            "expected a pool: only an http listener with routes may go without one (its unmatched requests get 404)",
        });
      }
      if (Array.isArray(listener.routes)) {
        if (listener.protocol === "tcp") {
          ctx.addIssue({
            code: "custom",
            path: ["listeners", index, "routes"],
            message: "expected no routes on a tcp listener (TCP is passed through to its pool)",
          });
        }
        listener.routes.forEach((route: unknown, at) => {
          if (isRecord(route)) knownPool(route.pool, ["listeners", index, "routes", at, "pool"]);
        });
        checkRoutes(listener.routes, ["listeners", index, "routes"], ctx);
      }
      if (listener.tls !== undefined && listener.redirectToHttps !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "redirectToHttps"],
          message: "expected redirectToHttps on a plain listener, not on one that already terminates TLS",
        });
      }
      if (listener.rateLimit !== undefined && listener.protocol === "tcp") {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "rateLimit"],
          message: "expected no rateLimit on a tcp listener (rate limits count HTTP requests)",
        });
      }
      if (listener.h2c === true && (listener.tls !== undefined || listener.http2 === false)) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "h2c"],
          message:
            listener.http2 === false
              ? "expected no h2c on a listener with http2: false"
              : "expected h2c on a plain listener (a TLS listener offers HTTP/2 by ALPN)",
        });
      }
      if (listener.sendProxyProtocol !== undefined && listener.protocol !== "tcp") {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "sendProxyProtocol"],
          message:
            "expected sendProxyProtocol on a tcp listener only (an http listener tells backends the client in X-Forwarded-For and Forwarded)",
        });
      }
      if (listener.protocol === "tcp" && (listener.http2 !== undefined || listener.h2c !== undefined)) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, listener.http2 !== undefined ? "http2" : "h2c"],
          message: "expected no http2 or h2c on a tcp listener (TCP is passed through as it is)",
        });
      }
      if (listener.tls !== undefined && listener.protocol === "tcp") {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "tls"],
          message:
            "expected no tls on a tcp listener (TCP is passed through; TLS is terminated on http listeners)",
        });
      }
      const pool = typeof listener.pool === "string" ? pools[listener.pool] : undefined;
      if (listener.protocol === "tcp" && isRecord(pool) && Array.isArray(pool.backends)) {
        const tlsBackend = pool.backends.findIndex(
          (backend: unknown) =>
            isRecord(backend) &&
            typeof backend.address === "string" &&
            /^https:/i.test(backend.address.trim()),
        );
        if (tlsBackend >= 0) {
          ctx.addIssue({
            code: "custom",
            path: ["pools", listener.pool as string, "backends", tlsBackend, "address"],
            message: `expected host:port for a pool behind tcp listener "${String(listener.name)}" (TCP is passed through as it is; https:// backends are for http listeners)`,
          });
        }
      }
      const listen = typeof listener.listen === "string" ? parseListenAddress(listener.listen) : undefined;
      if (listen && listen.port !== 0) {
        const key = `${listen.host}:${listen.port}`;
        const first = addresses.get(key);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["listeners", index, "listen"],
            message: `expected an address no other listener uses; listeners[${first}] already listens on it`,
          });
        } else addresses.set(key, index);
      }
    });
  }

  for (const [poolName, pool] of Object.entries(pools)) {
    if (!isRecord(pool)) continue;
    if ((pool.backends === undefined || isEmptyArray(pool.backends)) && pool.discovery === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["pools", poolName, "backends"],
        message: "expected at least one backend, or a discovery source (dns, file or etcd) to find them",
      });
    }
    if (!Array.isArray(pool.backends)) continue;
    const ids = new Map<string, number>();
    pool.backends.forEach((backend: unknown, index) => {
      if (!isRecord(backend)) return;
      const explicit = typeof backend.id === "string";
      const id = explicit ? backend.id : backend.address;
      if (typeof id !== "string") return;
      const first = ids.get(id);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["pools", poolName, "backends", index, explicit ? "id" : "address"],
          message: explicit
            ? `expected a backend id unique within pool "${poolName}"; backends[${first}] already has it`
            : `expected each backend once per pool; backends[${first}] has the same address (give distinct ids to repeat an address)`,
        });
      } else ids.set(id, index);
    });
  }
}

/**
 * A route's own rules: a pool or a redirect (one of them; a redirect has no
 * rate limit), a name unique in its listener and not "default", and reachable: no earlier route takes
 * every request, or exactly the requests it matches.
 */
function checkRoutes(routes: unknown[], at: PathSegment[], ctx: z.core.$RefinementCtx): void {
  const names = new Map<string, number>();
  let catchAll: number | undefined;
  routes.forEach((route, index) => {
    if (!isRecord(route)) return;
    const issue = (field: string | undefined, message: string) =>
      ctx.addIssue({
        code: "custom",
        path: field === undefined ? [...at, index] : [...at, index, field],
        message,
      });
    if ((route.pool === undefined) === (route.redirect === undefined)) {
      issue(undefined, "expected a route with either a pool or a redirect");
    }
    if (route.redirect !== undefined && isRecord(route.rateLimit)) {
      issue(
        "rateLimit",
        `expected no rateLimit on redirect route "${String(route.name)}" (redirects are answered without a backend and are not limited)`,
      );
    }
    if (typeof route.name === "string") {
      const first = names.get(route.name);
      if (route.name === "default")
        issue("name", 'expected a route name other than "default" (it names the listener\'s own pool)');
      else if (first !== undefined)
        issue("name", `expected a unique route name; "${route.name}" is also routes[${first}]`);
      else names.set(route.name, index);
    }
    if (catchAll !== undefined) {
      issue(
        undefined,
        `expected a reachable route, but routes[${catchAll}] has no match and takes every request`,
      );
      return;
    }
    const earlier = routes
      .slice(0, index)
      .findIndex((other) => isRecord(other) && isDeepStrictEqual(other.match, route.match));
    if (earlier >= 0)
      issue("match", `expected a reachable route, but routes[${earlier}] matches the same requests`);
    if (route.match === undefined || (isRecord(route.match) && Object.keys(route.match).length === 0))
      catchAll = index;
  });
}

function isEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}
