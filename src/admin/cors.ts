/**
 * CORS for the admin API (the consistent-hashing HTTP balancer): listed origins (or "*") may call it from
 * a browser. Every answer to an allowed origin carries
 * Access-Control-Allow-Origin; a preflight (OPTIONS with
 * Access-Control-Request-Method) is answered here with the methods and
 * headers the API accepts. A disallowed origin gets no CORS headers, so the
 * browser blocks it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";

export interface CorsOptions {
  /** Exact origins (`https://ops.example.com`), or "*" for any. */
  origins: readonly string[];
}

const ALLOWED_HEADERS = "authorization, content-type";
const PREFLIGHT_MAX_AGE_S = "600";

/** Sets the CORS response headers for `req` when its origin is allowed; returns whether it was. */
export function applyCors(req: IncomingMessage, res: ServerResponse, cors: CorsOptions | undefined): boolean {
  const origin = req.headers.origin;
  if (!cors || origin === undefined) return false;
  res.setHeader("vary", "Origin");
  if (!cors.origins.includes(origin) && !cors.origins.includes("*")) return false;
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("access-control-expose-headers", "x-switchyard-error, location");
  return true;
}

/** True for a CORS preflight request. */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
}

/** Answers a preflight for a path that accepts `methods`: 204, with the CORS grant when allowed. */
export function answerPreflight(res: ServerResponse, allowed: boolean, methods: readonly string[]): void {
  const allow = [...methods, "OPTIONS"].join(", ");
  res.setHeader("allow", allow);
  if (allowed) {
    res.setHeader("access-control-allow-methods", allow);
    res.setHeader("access-control-allow-headers", ALLOWED_HEADERS);
    res.setHeader("access-control-max-age", PREFLIGHT_MAX_AGE_S);
  }
  res.writeHead(204);
  res.end();
}
