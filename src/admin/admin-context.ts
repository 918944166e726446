/**
 * What every admin route handler sees and returns: the shared context (the
 * balancers, the config, readiness), one parsed request, and a reply the
 * server writes. Handlers stay plain functions of these, with no access to
 * node's request or response objects.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Balancer } from "../balancer/balancer.js";
import type { AdminConfigStore } from "../config/store-writes.js";
import type { Logger } from "../observability/logger.js";

export interface Readiness {
  ready: boolean;
  reasons: string[];
}

export interface AdminContext {
  /** Pool name → its balancer. */
  readonly balancers: ReadonlyMap<string, Balancer>;
  /** Reads the running config, as given (redacted when served); undefined when the host has none. */
  readonly config: (() => unknown) | undefined;
  readonly logger: Logger;
  /** When the server was created (ms since the epoch), for uptime. */
  readonly startedAt: number;
  /** Extra readiness from the host (config loaded, …). */
  readonly ready: (() => Readiness) | undefined;
  /** The store the pools live in, when not this process's config file. */
  readonly configStore?: AdminConfigStore | undefined;
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
  /** Request headers, for conditional requests (`if-none-match`). */
  headers: IncomingHttpHeaders;
}

export interface AdminReply {
  /** Default 200. */
  status?: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as it is with this content type instead of `body` as JSON (`/metrics`, dashboard files). */
  text?: { contentType: string; data: string | Buffer };
  /** A server-sent events stream instead of a body (`/api/events`); `status` and `body` are ignored. */
  stream?: AdminStream;
  /** What a write did, logged at info with the caller's address. */
  audit?: Record<string, unknown>;
}

/** One open event stream, as a stream source sees it. */
export interface StreamClient {
  /** Sends a chunk of the `text/event-stream` body. */
  write(chunk: string): void;
  /** Ends the stream (the client may reconnect). */
  end(): void;
}

/** A source of server-sent events; the server opens it once per connected client. */
export interface AdminStream {
  /** Starts sending to `client`; returns what to call when the client goes away. */
  open(client: StreamClient): () => void;
}

export type AdminHandler = (request: AdminRequest, context: AdminContext) => AdminReply | Promise<AdminReply>;
