/**
 * Raw TCP listener: each accepted connection becomes a tunnel to one backend.
 * The client socket is accepted paused, so its first bytes wait in the kernel
 * until the upstream connects; a connect failure or timeout moves to the
 * decision's next candidate while the attempt policy allows (`maxRetries`,
 * the retry budget: balancer/attempt-policy.ts, as for HTTP). Once connected,
 * both directions are relayed (with backpressure), half-close is forwarded
 * (FIN from one side ends the other side's write half), and the pair closes
 * when both directions are done, on idle timeout, or on an error from either
 * side (tcp-tunnel.ts). The PROXY protocol can be taken from the proxy in
 * front and sent on to the backends (proxy-protocol.ts). Accepted
 * connections come as bare handles, each made into one socket by its tunnel
 * (core/shared-reads.ts).
 * Tunnels are tracked per backend (backend-tunnels.ts): a backend
 * turning `draining` keeps its tunnels for `drainTimeoutMs`, then they are
 * closed; a removed backend's tunnels are closed at once.
 */

import net from "node:net";
import { performance } from "node:perf_hooks";
import { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { RetryBudgetOptions } from "../balancer/retry-budget.js";
import { AcceptSockets, acceptSocketCount } from "../core/accept-sockets.js";
import { MAX_TIMER_MS } from "../core/duration.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { type ClientHandle, takeAccepts } from "../core/shared-reads.js";
import { sweepPeriod } from "../http1/sweep-period.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { BackendTunnels, DEFAULT_TUNNEL_DRAIN_TIMEOUT_MS } from "./backend-tunnels.js";
import { PROXY_PROTOCOL_VERSIONS, type ProxyProtocolVersion } from "./proxy-protocol.js";
import { Tunnel, type TunnelHost } from "./tcp-tunnel.js";

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
  /** Listening sockets sharing the port, as HttpProxyOptions.acceptSockets; default 8. */
  acceptSockets?: number;
  /**
   * Every connection must open with a PROXY protocol header (v1 or v2, as
   * HAProxy's `accept-proxy`): its source is the client that is routed,
   * logged and passed on. A connection without a valid header within
   * connectTimeoutMs is closed. Only for a listener that nothing but the
   * proxy in front can reach. Default false.
   */
  acceptProxyProtocol?: boolean;
  /** Open each upstream connection with a PROXY protocol header ("v1" or "v2") naming the client; default none. */
  sendProxyProtocol?: ProxyProtocolVersion;
  logger?: Logger;
}

export const DEFAULT_TCP_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 300_000;
export const DEFAULT_TCP_GRACE_MS = 10_000;
const DESTROY_SETTLE_MS = 1_000;

export class TcpProxy implements TunnelHost {
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
  /** @internal */
  readonly acceptProxyProtocol: boolean;
  /** @internal */
  readonly sendProxyProtocol: ProxyProtocolVersion | undefined;
  #host: string;
  #port: number;
  #server: AcceptSockets;
  #address: { host: string; port: number } | undefined;
  #tunnels = new Set<Tunnel>();
  /** @internal open tunnels by backend, for draining */
  readonly byBackend: BackendTunnels<Tunnel>;
  #closing: Promise<void> | undefined;
  #onDrained: (() => void) | undefined;
  #sweeper: NodeJS.Timeout | undefined;

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
    this.acceptProxyProtocol = options.acceptProxyProtocol ?? false;
    this.sendProxyProtocol = options.sendProxyProtocol;
    if (this.sendProxyProtocol !== undefined && !PROXY_PROTOCOL_VERSIONS.includes(this.sendProxyProtocol)) {
      throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, 'sendProxyProtocol must be "v1" or "v2"', {
        sendProxyProtocol: this.sendProxyProtocol,
      });
    }
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
    this.#server = new AcceptSockets(net.createServer(), acceptSocketCount(options.acceptSockets), (server) =>
      takeAccepts(server, this.#accept, this.#acceptFailed),
    );
  }

  listen(): Promise<{ host: string; port: number }> {
    if (this.#address) return Promise.resolve(this.#address);
    if (this.#closing) {
      return Promise.reject(new SwitchyardError(ErrorCodes.SHUTTING_DOWN, "the TCP proxy has been closed"));
    }
    return this.#server.listen(this.#host, this.#port, this.logger, "tcp listener").then((address) => {
      this.#address = address;
      this.#sweeper ??= setInterval(this.#sweep, sweepPeriod(this.idleTimeoutMs));
      this.#sweeper.unref();
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
    const closed = this.#server.close();
    await this.#drained(graceMs);
    if (this.#tunnels.size > 0) {
      this.logger.warn({ open: this.#tunnels.size, graceMs }, "grace period over; closing open tunnels");
      for (const tunnel of this.#tunnels) tunnel.destroy();
      // Destroyed sockets close within a tick or two; the bound only guards against surprises.
      await this.#drained(DESTROY_SETTLE_MS);
    }
    await closed;
    clearInterval(this.#sweeper);
    this.#address = undefined;
  }

  /** One timer for every tunnel's idle timeout, instead of one per client socket. */
  #sweep = (): void => {
    const now = performance.now();
    for (const tunnel of this.#tunnels) tunnel._sweep(now);
  };

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

  #accept = (client: ClientHandle): void => {
    const tunnel = new Tunnel(this, client);
    if (this.#closing) {
      tunnel.destroy();
      return;
    }
    this.#tunnels.add(tunnel);
    tunnel.start();
  };

  #acceptFailed = (code: string): void => {
    this.logger.error({ code }, "tcp listener could not accept a connection");
  };

  /** @internal Called by a tunnel once both of its sockets are closed. */
  _tunnelDone(tunnel: Tunnel): void {
    this.#tunnels.delete(tunnel);
    if (this.#tunnels.size === 0) this.#onDrained?.();
  }
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
