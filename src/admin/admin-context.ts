/**
 * What every admin route handler sees and returns: the shared context (the
 * balancers, the config, readiness), one parsed request, and a reply the
 * server writes. Handlers stay plain functions of these, with no access to
 * node's request or response objects.
 */
import type { Balancer } from "../core/balancer.js";
import type { Logger } from "../observability/logger.js";

export interface Readiness {
  ready: boolean;
  reasons: string[];
}

export interface AdminContext {
  /** Pool name → its balancer. */
  readonly balancers: ReadonlyMap<string, Balancer>;
  /** The running config, as given (redacted when served). */
  readonly config: unknown;
  readonly logger: Logger;
  /** When the server was created (ms since the epoch), for uptime. */
  readonly startedAt: number;
  /** Extra readiness from the host (config loaded, …). */
  readonly ready: (() => Readiness) | undefined;
}

export interface AdminRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Decoded `:name` path parameters. */
  params: Record<string, string>;
  /** Parsed JSON body of a write; undefined when empty (and for reads). */
  body: unknown;
  /** Remote address of the caller, for the audit log. */
  remote: string;
}

export interface AdminReply {
  /** Default 200. */
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as it is with this content type instead of `body` as JSON (`/metrics`). */
  text?: { contentType: string; data: string };
  /** What a write did, logged at info with the caller's address. */
  audit?: Record<string, unknown>;
}

export type AdminHandler = (request: AdminRequest, context: AdminContext) => AdminReply | Promise<AdminReply>;
