/**
 * One TCP tunnel of the TcpProxy: the accepted client connection and its
 * upstream. It asks the balancer for a backend, connects (moving to the
 * decision's next candidate on a connect failure or timeout while the attempt
 * policy allows), then relays both directions with half-close forwarded, and
 * reports the connect time and any upstream failure on the decision when both
 * sides close. Both sockets read into the process's shared read buffer
 * (core/shared-reads.ts), and each read goes on as one copy of its bytes: a
 * stream `pipe()` costs a 64 KiB allocation per read and its trip through the
 * stream machinery. The client reads nothing until the upstream is connected,
 * so its first bytes wait in the kernel; on a listener that takes the PROXY
 * protocol, only its header is read first (the client it names is the one
 * the balancer routes), and the bytes after it wait in the tunnel.
 */
import net from "node:net";
import { performance } from "node:perf_hooks";
import type { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { Decision } from "../core/decision.js";
import type { SwitchyardError } from "../core/errors.js";
import { unmapIpv4 } from "../core/ipv4-mapped.js";
import { type ClientHandle, SHARED_READ_BUFFER, socketWithSharedReads } from "../core/shared-reads.js";
import type { Logger } from "../observability/logger.js";
import type { BackendTunnels } from "./backend-tunnels.js";
import { adoptConnection, ProxyHeaderWait } from "./proxy-header-wait.js";
import { encodeProxyHeader, type ProxiedConnection, type ProxyProtocolVersion } from "./proxy-protocol.js";

/** What a tunnel needs from its listener: the TcpProxy's settings and its bookkeeping. */
export interface TunnelHost {
  readonly balancer: Balancer;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly logger: Logger;
  readonly attemptPolicy: AttemptPolicy;
  /** Every connection opens with a PROXY protocol header naming the client. */
  readonly acceptProxyProtocol: boolean;
  /** Each upstream connection opens with a PROXY protocol header of this version. */
  readonly sendProxyProtocol: ProxyProtocolVersion | undefined;
  /** Open tunnels by backend, for draining. */
  readonly byBackend: BackendTunnels<Tunnel>;
  /** Called once both of the tunnel's sockets are closed. */
  _tunnelDone(tunnel: Tunnel): void;
}

/** One client connection and its upstream. */
export class Tunnel {
  readonly #proxy: TunnelHost;
  readonly #client: net.Socket;
  #decision: Decision | undefined;
  #upstream: net.Socket | undefined;
  /** Backend whose `active` count this tunnel holds. */
  #activeOn: Backend | undefined;
  #attemptStarted = 0;
  #connected = false;
  /** Time the successful connect took: the tunnel's latency sample (its lifetime says nothing about the backend). */
  #connectMs = 0;
  /** Bytes through the client socket, both ways, at the last sweep; and when they last changed. */
  #moved = 0;
  #movedAt = 0;
  #clientClosed = false;
  #upstreamClosed = false;
  #done = false;
  /** Upstream-side failure reported on the decision; client-side trouble is not the backend's fault. */
  #error: string | undefined;
  /** Set while the PROXY header is awaited. */
  #headerWait: ProxyHeaderWait | undefined;
  /** Bytes that came after the PROXY header, sent on once the upstream is connected. */
  #early: Buffer | undefined;

  constructor(proxy: TunnelHost, client: ClientHandle) {
    this.#proxy = proxy;
    this.#client = socketWithSharedReads(client, this.#onClientRead, {
      allowHalfOpen: true,
      pauseOnCreate: true,
    });
    this.#client.setNoDelay(true);
  }

  start(): void {
    const client = this.#client;
    client.on("error", (error) => this.#onClientError(error));
    client.on("close", () => this.#onClientClose());
    if (this.#proxy.acceptProxyProtocol) {
      this.#headerWait = new ProxyHeaderWait(
        client,
        this.#proxy.connectTimeoutMs,
        this.#proxy.logger,
        this.#onHeader,
      );
      client.resume();
      return;
    }
    this.#route();
  }

  #route(): void {
    const clientIp = unmapIpv4(this.#client.remoteAddress);
    let decision: Decision;
    try {
      decision = this.#proxy.balancer.select({ clientIp });
    } catch (error) {
      this.#proxy.logger.warn(
        { code: (error as SwitchyardError).code, err: error, client: clientIp },
        "no backend for tcp connection; closing it",
      );
      this.#client.destroy();
      return;
    }
    this.#decision = decision;
    this.#proxy.attemptPolicy.requestStarted();
    this.#connect(decision.backend);
  }

  /** The PROXY header came whole; `rest` came after it. From now on the socket reports the client it names. */
  #onHeader = (rest: Buffer, connection: ProxiedConnection | undefined): void => {
    this.#headerWait = undefined;
    if (connection !== undefined) adoptConnection(this.#client, connection);
    if (rest.length > 0) this.#early = rest;
    this.#client.pause();
    this.#route();
  };

  /** Closes both sides now (graceful-close deadline). */
  destroy(): void {
    this.#client.destroy();
    this.#upstream?.destroy();
  }

  /**
   * Applies the idle timeout at `now` (the proxy calls this for every tunnel a
   * few times a second): bytes moved either way through the client socket
   * since the last sweep restart the clock. A socket timer instead is re-armed
   * by Node on every read and write, which cost about 6% of a tunnel's CPU per
   * request.
   */
  _sweep(now: number): void {
    if (!this.#connected) return;
    const client = this.#client;
    const moved = client.bytesRead + client.bytesWritten;
    if (moved !== this.#moved) {
      this.#moved = moved;
      this.#movedAt = now;
    } else if (now - this.#movedAt >= this.#proxy.idleTimeoutMs) {
      this.#onIdle();
    }
  }

  #connect(backend: Backend): void {
    this.#attemptStarted = performance.now();
    const upstream = net.connect({
      host: backend.host,
      port: backend.port,
      allowHalfOpen: true,
      noDelay: true,
      onread: { buffer: SHARED_READ_BUFFER, callback: this.#onUpstreamRead },
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
    const version = this.#proxy.sendProxyProtocol;
    if (version !== undefined) upstream.write(encodeProxyHeader(version, socketConnection(client)));
    if (this.#early !== undefined) {
      upstream.write(this.#early);
      this.#early = undefined;
    }
    this.#movedAt = performance.now();
    // Half-close travels on: a FIN from one side ends the other's write half.
    client.on("end", () => upstream.end());
    upstream.on("end", () => client.end());
    if (client.readableEnded) upstream.end();
    client.resume();
    this.#proxy.byBackend.add(backend, this);
  }

  #onClientRead = (length: number): boolean => {
    if (this.#headerWait === undefined) return relay(this.#client, this.#upstream as net.Socket, length);
    this.#headerWait.push(SHARED_READ_BUFFER.subarray(0, length));
    // Read on only while the header is incomplete: after it, the client waits for the upstream.
    return this.#headerWait !== undefined;
  };

  #onUpstreamRead = (length: number): boolean => relay(this.#upstream as net.Socket, this.#client, length);

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

/**
 * Writes the `length` bytes `from` just read (in SHARED_READ_BUFFER, which
 * the next read overwrites) to `to`, as a copy; while `to` has a backlog,
 * `from` stops reading, as under `pipe()`.
 */
function relay(from: net.Socket, to: net.Socket, length: number): boolean {
  if (!to.write(Buffer.from(SHARED_READ_BUFFER.subarray(0, length)))) {
    from.pause();
    to.once("drain", () => from.resume());
  }
  return true;
}

/** The client connection's two ends (as a PROXY header that came in gave them), for the one sent on. */
function socketConnection(client: net.Socket): ProxiedConnection {
  return {
    sourceAddress: client.remoteAddress ?? "0.0.0.0",
    sourcePort: client.remotePort ?? 0,
    destinationAddress: client.localAddress ?? "0.0.0.0",
    destinationPort: client.localPort ?? 0,
  };
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
}
