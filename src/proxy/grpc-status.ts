/**
 * How the proxy tells a gRPC client about an error of its own. A gRPC client
 * reads the call's outcome from `grpc-status` and `grpc-message`, not from
 * the HTTP status, so a proxy error on a gRPC request is answered the way
 * gRPC servers answer, and Envoy's local replies and NGINX's gRPC error pages
 * do: HTTP 200 and the status fields. This file says which requests are gRPC,
 * which gRPC status stands for an HTTP one, and how the message is encoded
 * (grpc/grpc PROTOCOL-HTTP2.md: percent-encoded UTF-8).
 *
 * The status table starts from gRPC's own mapping for clients that get a bare
 * HTTP status from an intermediary (http-grpc-status-mapping.md: 400
 * INTERNAL, 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED,
 * 429/502/503/504 UNAVAILABLE, others UNKNOWN) and departs from it where the
 * proxy knows more than such a client: a backend that did not answer in time
 * is DEADLINE_EXCEEDED, not worth an automatic retry since it may have done
 * the work (Envoy's router answers gRPC timeouts so, behind its
 * `grpc_timeout_returns_deadline_exceeded` flag); a rate-limit refusal and a
 * body too large are RESOURCE_EXHAUSTED (Envoy's
 * `rate_limited_as_resource_exhausted`, Google's API guidance for 429), and
 * so is metadata over the limits (431), as gRPC's own servers answer it; a
 * failure inside the proxy is INTERNAL. A connect timeout, which never
 * reached a backend, stays UNAVAILABLE (upstream-failures.ts says so).
 */
import type { HeaderObject } from "./http1/client-request.js";

/** The gRPC status codes the proxy answers with (grpc/grpc doc/statuscodes.md). */
export const GrpcStatus = {
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const BY_HTTP_STATUS: ReadonlyMap<number, number> = new Map([
  [400, GrpcStatus.INTERNAL],
  [401, GrpcStatus.UNAUTHENTICATED],
  [403, GrpcStatus.PERMISSION_DENIED],
  [404, GrpcStatus.UNIMPLEMENTED],
  [413, GrpcStatus.RESOURCE_EXHAUSTED],
  [429, GrpcStatus.RESOURCE_EXHAUSTED],
  [431, GrpcStatus.RESOURCE_EXHAUSTED],
  [500, GrpcStatus.INTERNAL],
  [502, GrpcStatus.UNAVAILABLE],
  [503, GrpcStatus.UNAVAILABLE],
  [504, GrpcStatus.DEADLINE_EXCEEDED],
]);

/** The gRPC status that stands for the HTTP `status` of a proxy error. */
export function grpcStatusFor(status: number): number {
  return BY_HTTP_STATUS.get(status) ?? GrpcStatus.UNKNOWN;
}

/**
 * "grpc" for a gRPC request (`application/grpc`, `application/grpc+proto`...),
 * "grpc-web" for gRPC-Web (its trailers travel in the body), else undefined.
 */
export function grpcKind(headers: HeaderObject): "grpc" | "grpc-web" | undefined {
  const type = headers["content-type"];
  if (typeof type !== "string" || !type.toLowerCase().startsWith("application/grpc")) return undefined;
  return type.length > 16 && type.slice(16, 20).toLowerCase() === "-web" ? "grpc-web" : "grpc";
}

/** Percent-encodes what gRPC does not allow raw in grpc-message: bytes outside 0x20-0x7E, and "%". */
export function encodeGrpcMessage(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
