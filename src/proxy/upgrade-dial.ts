/**
 * How a WebSocket tunnel (websocket.ts) reaches one backend for one attempt:
 * connect, send the upgrade, report the backend's answer. There is one way per
 * backend protocol: an HTTP/1.1 Upgrade on its own connection
 * (http1/upgrade-over-http1.ts), or an RFC 8441 extended CONNECT stream on an
 * HTTP/2 session (http2/websocket-over-h2.ts). Either hands the tunnel a
 * Duplex, so the tunnel pipes, times out and closes the same way over both.
 */
import type { Duplex } from "node:stream";
import type { Backend } from "../core/backend.js";
import type { ErrorCode } from "../core/errors.js";
import type { UpstreamTls } from "../core/upstream-tls.js";

/** The client's upgrade as it goes to the backend. */
export interface UpgradeHandshake {
  readonly method: string;
  /** The request target, as the route rewrote it. */
  readonly target: string;
  readonly httpVersion: string;
  /** The upstream fields, flat `[name, value, ...]`: hop-by-hop ones gone, forwarding ones added. */
  readonly headers: readonly string[];
  /** The client's Upgrade token (`websocket`). */
  readonly upgrade: string;
}

export interface UpgradeDialOptions {
  /** Upper bound on reaching the backend, in ms. */
  readonly connectTimeoutMs: number;
  /** Upper bound on waiting for the answer's head once the upgrade is sent, in ms (HTTP/1.1 backends). */
  readonly headersTimeoutMs: number;
  readonly backendTls: UpstreamTls;
}

/** What one attempt reports to its tunnel, each at most once, in this order. */
export interface UpgradeDialEvents {
  /**
   * The backend is reached and the upgrade went out on `upstream`: the tunnel
   * is open. What `upstream` reads goes to the client; what it is written
   * reaches the backend.
   */
  sent(upstream: Duplex): void;
  /**
   * The backend answered with `status` (undefined when unreadable); when
   * `switched`, the client's bytes may go to it. `clientHead` is an HTTP/1.1
   * head the client gets before `upstream`'s bytes, when those carry none.
   */
  answered(status: number | undefined, switched: boolean, clientHead: Buffer | undefined): void;
  /**
   * The attempt failed before `sent` (the backend was not reached, or cannot
   * take the upgrade); `reason` is said to the client if no other backend can.
   */
  failed(code: ErrorCode, reason: string, error: Error): void;
}

/** One attempt in progress. */
export interface UpgradeDial {
  /** Abandons the attempt, or after `sent` drops its connection at once. */
  destroy(): void;
}

export type DialUpgrade = (
  backend: Backend,
  handshake: UpgradeHandshake,
  options: UpgradeDialOptions,
  events: UpgradeDialEvents,
) => UpgradeDial;
