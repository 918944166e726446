/**
 * Raw TCP listener: each accepted connection becomes a tunnel to one backend.
 * The client socket is accepted paused, so its first bytes wait in the kernel
 * until the upstream connects; a connect failure or timeout moves to the
 * decision's next candidate while the attempt policy allows (`maxRetries`,
 * the retry budget: balancer/attempt-policy.ts, as for HTTP). Once connected,
 * both directions are piped (backpressure handled by `pipe`, nothing
 * allocated per chunk), half-close is forwarded (FIN from one side ends the
 * other side's write half), and the pair closes when both directions are
 * done, on idle timeout, or on an error from either side. Tunnels are tracked per backend (backend-tunnels.ts): a backend
 * turning `draining` keeps its tunnels for `drainTimeoutMs`, then they are
 * closed; a removed backend's tunnels are closed at once.
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { RetryBudgetOptions } from "../balancer/retry-budget.js";
import type { Backend } from "../core/backend.js";
import type { Decision } from "../core/decision.js";
import { MAX_TIMER_MS } from "../core/duration.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { listenOn } from "../core/listen.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { BackendTunnels, DEFAULT_TUNNEL_DRAIN_TIMEOUT_MS } from "./backend-tunnels.js";

export interface TcpProxyOptions {
  balancer: Balancer;
  /** Listening host; default 127.0.0.1. */
  host?: string;
  /** Listening port; default 0 (chosen by the OS, read it back from `listen()`). */
  port?: number;
  /** Listener name for logs. */
  name?: string;
  /** Upper bound on connecting to one backend, in ms; default 5000. */
  connectTimeoutMs?: number;
  /** A tunnel with no traffic in either direction for this long is closed, in ms; default 300000. */
  idleTimeoutMs?: number;
  /**
   * How long tunnels to a backend that turned `draining` stay open before they
   * are closed, in ms; default 30000. A removed backend's tunnels close at once.
   */
  drainTimeoutMs?: number;
  /** Further backends one connection may try after a failed connect; default 3. */
  maxRetries?: number;
  /** Caps those retries at a share of connections (as HTTP's), or false for no cap. */
  retryBudget?: Partial<RetryBudgetOptions> | false;
  logger?: Logger;
}

export const DEFAULT_TCP_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 300_000;
export const DEFAULT_TCP_GRACE_MS = 10_000;
const DESTROY_SETTLE_MS = 1_000;

export class TcpProxy {
  readonly name: string;
  /** @internal read by tunnels */
  readonly balancer: Balancer;
  /** @internal */
  readonly connectTimeoutMs: number;
  /** @internal */
  readonly idleTimeoutMs: number;
  /** @internal */
  readonly logger: Logger;
  /** @internal */
  readonly attemptPolicy: AttemptPolicy;
  #host: string;
  #port: number;
  #server: net.Server;
  #address: { host: string; port: number } | undefined;
  #tunnels = new Set<Tunnel>();
  /** @internal open tunnels by backend, for draining */
  readonly byBackend: BackendTunnels<Tunnel>;
  #closing: Promise<void> | undefined;
  #onDrained: (() => void) | undefined;

  constructor(options: TcpProxyOptions) {
    this.balancer = options.balancer;
    this.name = options.name ?? "tcp";
    this.#host = options.host ?? "127.0.0.1";
    this.#port = options.port ?? 0;
    this.connectTimeoutMs = positive(
      "connectTimeoutMs",
      options.connectTimeoutMs,
      DEFAULT_TCP_CONNECT_TIMEOUT_MS,
    );
    this.idleTimeoutMs = positive("idleTimeoutMs", options.idleTimeoutMs, DEFAULT_TCP_IDLE_TIMEOUT_MS);
    this.attemptPolicy = new AttemptPolicy({
      maxRetries: options.maxRetries,
      retryBudget: options.retryBudget,
    });
    if (!Number.isInteger(this.#port) || this.#port < 0 || this.#port > 65535) {
      throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, "port must be an integer from 0 to 65535", {
        port: this.#port,
      });
    }
    this.logger = (options.logger ?? silentLogger).child({ component: "tcp-proxy", listener: this.name });
    const drainTimeoutMs = positive(
      "drainTimeoutMs",
      options.drainTimeoutMs,
      DEFAULT_TUNNEL_DRAIN_TIMEOUT_MS,
    );
    if (drainTimeoutMs > MAX_TIMER_MS) {
      throw new SwitchyardError(
        ErrorCodes.INVALID_OPTIONS,
        `drainTimeoutMs must be at most ${MAX_TIMER_MS}`,
        {
          drainTimeoutMs,
        },
      );
    }
    this.byBackend = new BackendTunnels(this.balancer.pool, drainTimeoutMs, this.logger, "tcp");
    this.#server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (socket) =>
      this.#accept(socket),
    );
  }

  listen(): Promise<{ host: string; port: number }> {
    if (this.#address) return Promise.resolve(this.#address);
    if (this.#closing) {
      return Promise.reject(new SwitchyardError(ErrorCodes.SHUTTING_DOWN, "the TCP proxy has been closed"));
    }
    return listenOn(this.#server, this.#host, this.#port, this.logger, "tcp listener").then((address) => {
      this.#address = address;
      return address;
    });
  }

  get address(): { host: string; port: number } {
    if (!this.#address) throw new Error(`TCP proxy "${this.name}" is not listening; call listen() first`);
    return this.#address;
  }

  /** Client connections currently open (connecting or tunnelling). */
  get connections(): number {
    return this.#tunnels.size;
  }

  /** Graceful: stop accepting, wait up to graceMs (default 10000) for open tunnels to end, then destroy them. */
  close(graceMs: number = DEFAULT_TCP_GRACE_MS): Promise<void> {
    this.#closing ??= this.#shutdown(graceMs);
    return this.#closing;
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.byBackend.detach();
    const server = this.#server;
    const closed = new Promise<void>((resolve) => {
      if (server.listening) server.close(() => resolve());
      else resolve();
    });
    await this.#drained(graceMs);
    if (this.#tunnels.size > 0) {
      this.logger.warn({ open: this.#tunnels.size, graceMs }, "grace period over; closing open tunnels");
      for (const tunnel of this.#tunnels) tunnel.destroy();
      // Destroyed sockets close within a tick or two; the bound only guards against surprises.
      await this.#drained(DESTROY_SETTLE_MS);
    }
    await closed;
    this.#address = undefined;
  }

  /** Resolves when no tunnel is open, or after `waitMs`. */
  #drained(waitMs: number): Promise<void> {
    if (this.#tunnels.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#onDrained = undefined;
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, waitMs));
      this.#onDrained = finish;
    });
  }

  #accept(client: net.Socket): void {
    if (this.#closing) {
      client.destroy();
      return;
    }
    const tunnel = new Tunnel(this, client);
    this.#tunnels.add(tunnel);
    tunnel.start();
  }

  /** @internal Called by a tunnel once both of its sockets are closed. */
  _tunnelDone(tunnel: Tunnel): void {
    this.#tunnels.delete(tunnel);
    if (this.#tunnels.size === 0) this.#onDrained?.();
  }
}

/** One client connection and its upstream. */
class Tunnel {
  readonly #proxy: TcpProxy;
  readonly #client: net.Socket;
  #decision: Decision | undefined;
  #upstream: net.Socket | undefined;
  /** Backend whose `active` count this tunnel holds. */
  #activeOn: Backend | undefined;
  #attemptStarted = 0;
  #connected = false;
  /** Time the successful connect took: the tunnel's latency sample (its lifetime says nothing about the backend). */
  #connectMs = 0;
  #clientClosed = false;
  #upstreamClosed = false;
  #done = false;
  /** Upstream-side failure reported on the decision; client-side trouble is not the backend's fault. */
  #error: string | undefined;

  constructor(proxy: TcpProxy, client: net.Socket) {
    this.#proxy = proxy;
    this.#client = client;
  }

  start(): void {
    const client = this.#client;
    client.on("error", (error) => this.#onClientError(error));
    client.on("close", () => this.#onClientClose());
    client.on("timeout", () => this.#onIdle());
    let decision: Decision;
    try {
      decision = this.#proxy.balancer.select({ clientIp: clientIp(client) });
    } catch (error) {
      this.#proxy.logger.warn(
        { code: (error as SwitchyardError).code, err: error, client: client.remoteAddress },
        "no backend for tcp connection; closing it",
      );
      client.destroy();
      return;
    }
    this.#decision = decision;
    this.#proxy.attemptPolicy.requestStarted();
    this.#connect(decision.backend);
  }

  /** Closes both sides now (graceful-close deadline). */
  destroy(): void {
    this.#client.destroy();
    this.#upstream?.destroy();
  }

  #connect(backend: Backend): void {
    this.#attemptStarted = performance.now();
    const upstream = net.connect({
      host: backend.host,
      port: backend.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    this.#upstream = upstream;
    upstream.setTimeout(this.#proxy.connectTimeoutMs);
    upstream.on("connect", () => this.#onConnect(upstream, backend));
    upstream.on("error", (error) => this.#onUpstreamError(upstream, error));
    upstream.on("timeout", () => this.#onUpstreamTimeout(upstream));
    upstream.on("close", () => this.#onUpstreamClose(upstream));
  }

  #onConnect(upstream: net.Socket, backend: Backend): void {
    if (upstream !== this.#upstream || this.#clientClosed) {
      upstream.destroy();
      return;
    }
    this.#connected = true;
    this.#connectMs = performance.now() - this.#attemptStarted;
    backend.active++;
    this.#activeOn = backend;
    upstream.setTimeout(0);
    const client = this.#client;
    // Reads or writes on the client socket re-arm its timer, so one timer covers both directions.
    client.setTimeout(this.#proxy.idleTimeoutMs);
    upstream.pipe(client);
    client.pipe(upstream);
    this.#proxy.byBackend.add(backend, this);
  }

  #onUpstreamError(upstream: net.Socket, error: Error): void {
    if (upstream !== this.#upstream) return;
    const reason = describe(error);
    if (!this.#connected) {
      this.#attemptFailed(reason);
      return;
    }
    this.#error ??= `upstream ${reason}`;
    this.#proxy.logger.debug(
      { backend: this.#decision?.backend.id, reason },
      "upstream error; closing tunnel",
    );
    this.#client.destroy();
  }

  #onUpstreamTimeout(upstream: net.Socket): void {
    if (upstream !== this.#upstream) return;
    if (!this.#connected) {
      upstream.destroy();
      this.#attemptFailed(`connect timeout after ${this.#proxy.connectTimeoutMs} ms`);
      return;
    }
    // Only armed after the client closed cleanly: bounds the flush of the last bytes.
    this.#onIdle();
  }

  #onUpstreamClose(upstream: net.Socket): void {
    if (upstream !== this.#upstream || !this.#connected) return;
    this.#upstreamClosed = true;
    // A clean close (both halves done) means the client got our FIN via pipe; let it flush.
    if (!(upstream.readableEnded && upstream.writableFinished)) this.#client.destroy();
    this.#maybeDone();
  }

  #onClientError(error: Error): void {
    this.#proxy.logger.debug({ reason: describe(error), client: this.#client.remoteAddress }, "client error");
    this.#upstream?.destroy();
  }

  #onClientClose(): void {
    this.#clientClosed = true;
    const upstream = this.#upstream;
    const client = this.#client;
    if (!this.#connected) {
      // Client left before any upstream answered (or none could): abandon the attempt.
      if (upstream) {
        upstream.destroy();
        this.#decision?.finish({});
      }
      this.#upstreamClosed = true;
    } else if (upstream && !upstream.destroyed) {
      if (client.readableEnded && client.writableFinished) upstream.setTimeout(this.#proxy.idleTimeoutMs);
      else upstream.destroy();
    }
    this.#maybeDone();
  }

  #onIdle(): void {
    this.#proxy.logger.debug(
      { backend: this.#decision?.backend.id, idleTimeoutMs: this.#proxy.idleTimeoutMs },
      "tcp tunnel idle; closing",
    );
    this.destroy();
  }

  #attemptFailed(reason: string): void {
    const decision = this.#decision as Decision;
    const failed = decision.backend;
    decision.finish({ error: reason, latencyMs: performance.now() - this.#attemptStarted });
    if (this.#clientClosed) return;
    const policy = this.#proxy.attemptPolicy;
    // Nothing reached a backend yet, so any connection may go again.
    const next = policy.allowsRetry(decision.attempts.length - 1, "always", false)
      ? decision.next()
      : undefined;
    if (!next) {
      this.#proxy.logger.warn(
        { backends: decision.attempts.map((backend) => backend.id), reason },
        "no further candidate backend (all failed, or retries spent); closing tcp connection",
      );
      this.#upstream = undefined;
      this.#client.destroy();
      return;
    }
    policy.retried();
    this.#proxy.logger.debug({ failed: failed.id, next: next.id, reason }, "tcp connect failed; trying next");
    this.#connect(next);
  }

  #maybeDone(): void {
    if (this.#done || !this.#clientClosed || !this.#upstreamClosed) return;
    this.#done = true;
    if (this.#activeOn) {
      this.#activeOn.active--;
      this.#proxy.byBackend.delete(this.#activeOn, this);
    }
    if (this.#connected) {
      this.#decision?.finish({ latencyMs: this.#connectMs, error: this.#error });
    }
    this.#proxy._tunnelDone(this);
  }
}

function clientIp(socket: net.Socket): string | undefined {
  const address = socket.remoteAddress;
  return address?.startsWith("::ffff:") ? address.slice(7) : address;
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}

function positive(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, `${field} must be a positive number of ms`, {
      [field]: value,
    });
  }
  return value;
}
