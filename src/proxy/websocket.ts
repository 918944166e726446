/**
 * WebSocket (and any HTTP/1.1 Upgrade) pass-through. The proxy does not speak
 * the WebSocket protocol: it picks a backend and reaches it the way the pool's
 * `backendProtocol` says (upgrade-dial.ts): an HTTP/1.1 pool gets the client's
 * request line and headers replayed on a connection of its own (hop-by-hop
 * fields replaced by `Connection: Upgrade` + the client's `Upgrade`,
 * forwarding fields added), an `h2` pool an RFC 8441 extended CONNECT stream
 * whose answer becomes the client's HTTP/1.1 one. A failed connect (refused,
 * timed out, or an h2 backend that cannot take WebSockets) moves to the
 * decision's next candidate. Only once the backend switched protocols do the
 * client's bytes (those already read past the head first) go to it: a backend
 * that did not still reads HTTP, and would take them for requests the proxy
 * never framed. Any other answer reaches the client and the tunnel closes
 * behind it. An open tunnel pipes both directions until one side closes or
 * fails, which closes the other, or until no byte has crossed the tunnel for
 * `idleTimeoutMs`, which closes both. While a tunnel is open its backend's
 * `active` counter is raised and the decision's attempt stays open; the
 * attempt is reported when the tunnel closes, with the backend's handshake
 * status and time to it. Refused upgrades are answered with the raw coded
 * responses of error-responses.ts. Open tunnels are tracked per backend
 * (backend-tunnels.ts): a backend turning `draining` keeps its tunnels for
 * `drainTimeoutMs`, a removed one loses them at once.
 */
import type net from "node:net";
import { performance } from "node:perf_hooks";
import type { Duplex } from "node:stream";
import type { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Decision } from "../core/decision.js";
import { type ErrorCode, ErrorCodes, isSwitchyardError } from "../core/errors.js";
import { unmapIpv4 } from "../core/ipv4-mapped.js";
import type { Logger } from "../observability/logger.js";
import { BackendTunnels } from "./backend-tunnels.js";
import { proxyError, rawErrorResponse, replyAndClose } from "./error-responses.js";
import { buildUpstreamHeaders } from "./forwarded-headers.js";
import { dialUpgradeOverHttp1 } from "./http1/upgrade-over-http1.js";
import { dialWebSocketOverHttp2 } from "./http2/websocket-over-h2.js";
import type { DialUpgrade, UpgradeDial, UpgradeHandshake } from "./upgrade-dial.js";

export interface WebSocketProxyOptions {
  balancer: Balancer;
  /** Upper bound on connecting to one backend, in ms. */
  connectTimeoutMs: number;
  /** Upper bound on waiting for an HTTP/1.1 backend's answer to the upgrade, in ms. */
  headersTimeoutMs: number;
  /** An open tunnel with no traffic in either direction for this long, in ms, is closed. */
  idleTimeoutMs: number;
  /** When a failed connect goes to the next candidate (the listener's, shared with its HTTP requests). */
  attemptPolicy: AttemptPolicy;
  /** How long tunnels to a draining backend stay open, in ms. */
  drainTimeoutMs: number;
  logger: Logger;
  /** Called after a tunnel closed (the listener uses it to finish a graceful shutdown). */
  onTunnelClosed?: () => void;
}

/** The parts of an Upgrade request a tunnel replays. */
export interface UpgradeRequest {
  readonly method: string;
  readonly url: string;
  readonly httpVersion: string;
  readonly rawHeaders: readonly string[];
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The route an upgrade came through: its name and its rewrites. */
export interface UpgradeRoute {
  readonly name: string;
  upstreamPath(url: string): string;
  editRequest(headers: string[]): void;
}

export class WebSocketProxy {
  /** @internal */
  readonly balancer: Balancer;
  /** @internal */
  readonly connectTimeoutMs: number;
  /** @internal */
  readonly headersTimeoutMs: number;
  /** @internal */
  readonly idleTimeoutMs: number;
  /** @internal */
  readonly attemptPolicy: AttemptPolicy;
  /** @internal */
  readonly logger: Logger;
  #tunnels = new Set<Tunnel>();
  #byBackend: BackendTunnels<Tunnel>;
  #onTunnelClosed: (() => void) | undefined;

  constructor(options: WebSocketProxyOptions) {
    this.balancer = options.balancer;
    this.connectTimeoutMs = options.connectTimeoutMs;
    this.headersTimeoutMs = options.headersTimeoutMs;
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.attemptPolicy = options.attemptPolicy;
    this.logger = options.logger;
    this.#onTunnelClosed = options.onTunnelClosed;
    this.#byBackend = new BackendTunnels(
      this.balancer.pool,
      options.drainTimeoutMs,
      this.logger,
      "websocket",
    );
  }

  /** Tunnels connecting or open. */
  get size(): number {
    return this.#tunnels.size;
  }

  /** Tunnels open to `backend`. */
  openTo(backend: Backend): number {
    return this.#byBackend.count(backend);
  }

  /**
   * Takes over a client socket whose request asked for an Upgrade (`head`:
   * bytes read past the request head): picks a backend and starts the tunnel,
   * with the path and request headers as `route` rewrites them.
   */
  handleUpgrade(req: UpgradeRequest, socket: Duplex, head: Buffer, route?: UpgradeRoute): void {
    const client = socket as net.Socket;
    // Whoever parsed the request removed its own error listener when it handed the socket over.
    client.on("error", ignoreError);
    const clientIp = unmapIpv4(client.remoteAddress);
    const proto = (client as { encrypted?: boolean }).encrypted === true ? "https" : "http";
    const upstreamHead = buildUpstreamHeaders(req.rawHeaders, clientIp, proto);
    if (upstreamHead.invalid !== undefined) {
      replyAndClose(client, rawErrorResponse(proxyError(ErrorCodes.BAD_REQUEST, upstreamHead.invalid)));
      return;
    }
    const ctx: RequestContext = {
      clientIp,
      method: req.method,
      path: req.url,
      headers: req.headers,
      route: route?.name,
    };
    let decision: Decision;
    try {
      decision = this.balancer.select(ctx);
    } catch (error) {
      if (isSwitchyardError(error, ErrorCodes.NO_BACKEND)) {
        replyAndClose(client, rawErrorResponse(proxyError(ErrorCodes.NO_BACKEND)));
      } else {
        this.logger.error(
          { err: error, code: ErrorCodes.INTERNAL, method: req.method, url: req.url },
          "backend selection failed",
        );
        replyAndClose(client, rawErrorResponse(proxyError(ErrorCodes.INTERNAL, "backend selection failed")));
      }
      return;
    }
    const headers = upstreamHead.headers;
    route?.editRequest(headers);
    const handshake: UpgradeHandshake = {
      method: req.method,
      target: route === undefined ? req.url : route.upstreamPath(req.url),
      httpVersion: req.httpVersion,
      headers,
      upgrade: String(req.headers.upgrade ?? "websocket"),
    };
    // The client's bytes wait (read by nobody, so kept) until the backend has switched protocols.
    client.pause();
    const tunnel = new Tunnel(this, client, handshake, head);
    this.#tunnels.add(tunnel);
    tunnel.start(decision);
  }

  /** Destroys every tunnel (end of a graceful shutdown) and stops following the pool. */
  destroyAll(): void {
    this.#byBackend.detach();
    for (const tunnel of [...this.#tunnels]) tunnel.destroy();
  }

  /** @internal A tunnel to `backend` is open (its handshake was sent). */
  _opened(backend: Backend, tunnel: Tunnel): void {
    this.#byBackend.add(backend, tunnel);
  }

  /** @internal */
  _closed(tunnel: Tunnel, backend: Backend | undefined): void {
    if (backend !== undefined) this.#byBackend.delete(backend, tunnel);
    if (this.#tunnels.delete(tunnel)) this.#onTunnelClosed?.();
  }
}

class Tunnel {
  readonly #owner: WebSocketProxy;
  readonly #client: net.Socket;
  readonly #handshake: UpgradeHandshake;
  /** Client bytes read past the request head, sent once the backend switched protocols. */
  readonly #early: Buffer;
  readonly #dial: DialUpgrade;
  #decision: Decision | undefined;
  /** The attempt in progress, then the open tunnel's connection. */
  #attempt: UpgradeDial | undefined;
  /** The backend side once the upgrade went out. */
  #upstream: Duplex | undefined;
  #backend: Backend | undefined;
  #attempts = 0;
  #startedAt = 0;
  #status: number | undefined;
  #latencyMs: number | undefined;
  #upstreamFailed = false;
  #state: "connecting" | "open" | "closed" = "connecting";

  constructor(owner: WebSocketProxy, client: net.Socket, handshake: UpgradeHandshake, early: Buffer) {
    this.#owner = owner;
    this.#client = client;
    this.#handshake = handshake;
    this.#early = early;
    this.#dial = owner.balancer.backendProtocol === "h2" ? dialWebSocketOverHttp2 : dialUpgradeOverHttp1;
  }

  start(decision: Decision): void {
    this.#decision = decision;
    this.#owner.attemptPolicy.requestStarted();
    this.#client.on("close", this.#onClientClose);
    if (this.#client.destroyed) {
      this.#onClientClose();
      return;
    }
    this.#connect(decision.backend);
  }

  destroy(): void {
    this.#teardown(true);
  }

  #connect(backend: Backend): void {
    this.#attempts++;
    this.#startedAt = performance.now();
    const options = {
      connectTimeoutMs: this.#owner.connectTimeoutMs,
      headersTimeoutMs: this.#owner.headersTimeoutMs,
      backendTls: this.#owner.balancer.backendTls,
    };
    const attempt = this.#dial(backend, this.#handshake, options, {
      sent: (upstream) => this.#onSent(attempt, upstream),
      answered: this.#onAnswered,
      failed: (code, reason, error) => this.#onConnectFailed(attempt, code, reason, error),
    });
    this.#attempt = attempt;
  }

  #onSent(attempt: UpgradeDial, upstream: Duplex): void {
    upstream.on("error", ignoreError);
    if (this.#state !== "connecting" || attempt !== this.#attempt) {
      attempt.destroy();
      return;
    }
    const decision = this.#decision as Decision;
    this.#state = "open";
    this.#upstream = upstream;
    this.#backend = decision.backend;
    this.#backend.active++;
    // Every byte either way is read on one side and written on the other,
    // so the client socket's own timer measures the whole tunnel's idleness.
    this.#client.setTimeout(this.#owner.idleTimeoutMs);
    this.#client.once("timeout", this.#onIdle);
    upstream.on("error", this.#onUpstreamError);
    upstream.on("close", this.#onUpstreamClose);
    upstream.pipe(this.#client);
    this.#owner._opened(this.#backend, this);
  }

  /** Client bytes flow to the backend only once it switched protocols. */
  #onAnswered = (status: number | undefined, switched: boolean, clientHead: Buffer | undefined): void => {
    this.#latencyMs = performance.now() - this.#startedAt;
    this.#status = status;
    const upstream = this.#upstream;
    if (this.#state !== "open" || upstream === undefined) return;
    if (clientHead !== undefined) this.#client.write(clientHead);
    if (switched) {
      if (this.#early.length > 0) upstream.write(this.#early);
      this.#client.pipe(upstream);
    } else {
      // Not upgraded: nothing more goes to the backend; the tunnel closes once it has answered.
      upstream.end();
    }
  };

  #onConnectFailed(attempt: UpgradeDial, code: ErrorCode, reason: string, error: Error): void {
    if (this.#state !== "connecting" || attempt !== this.#attempt) return;
    this.#attempt = undefined;
    const decision = this.#decision as Decision;
    decision.finish({ error: code, latencyMs: performance.now() - this.#startedAt });
    this.#owner.logger.debug(
      { backend: decision.backend.id, err: error, reason, attempt: this.#attempts },
      "websocket upstream connect failed",
    );
    // The upgrade never reached the backend: any upgrade may go again.
    if (this.#owner.attemptPolicy.allowsRetry(this.#attempts - 1, "always", false)) {
      const next = decision.next();
      if (next) {
        this.#owner.attemptPolicy.retried();
        this.#connect(next);
        return;
      }
    }
    this.#state = "closed";
    replyAndClose(this.#client, rawErrorResponse(proxyError(code, reason)));
    this.#owner._closed(this, undefined);
  }

  #onUpstreamError = (): void => {
    if (this.#state !== "open") return;
    this.#upstreamFailed = true;
    this.#teardown(true);
  };

  #onIdle = (): void => {
    if (this.#state === "open") {
      this.#owner.logger.debug(
        { backend: (this.#backend as Backend).id, idleMs: this.#owner.idleTimeoutMs },
        "websocket tunnel idle, closing",
      );
      this.#teardown(true);
      return;
    }
    // Closed cleanly, but a side is still flushing to a peer that stopped reading.
    this.#client.destroy();
    this.#attempt?.destroy();
  };

  #onUpstreamClose = (): void => {
    if (this.#state === "open") this.#teardown(false);
  };

  #onClientClose = (): void => {
    this.#teardown(this.#state !== "open");
  };

  /**
   * Closes both sides once. After an error (or while still connecting) both
   * are destroyed; after a clean close the other side is ended and destroyed
   * once its pending writes are flushed.
   */
  #teardown(hard: boolean): void {
    if (this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    if (hard) {
      this.#client.destroy();
      this.#attempt?.destroy();
    } else {
      this.#client.destroySoon();
      if (this.#upstream !== undefined) endThenDestroy(this.#upstream);
    }
    const decision = this.#decision as Decision;
    if (wasOpen) {
      (this.#backend as Backend).active--;
      if (this.#status !== undefined) decision.finish({ status: this.#status, latencyMs: this.#latencyMs });
      else if (this.#upstreamFailed) decision.finish({ error: ErrorCodes.UPSTREAM_RESET });
      else decision.finish({});
    } else {
      // The client left while we were still connecting: not the backend's fault.
      decision.finish({});
    }
    this.#owner._closed(this, this.#backend);
  }
}

/** What a socket's destroySoon does, for any Duplex: end, and destroy once the writes are out. */
function endThenDestroy(stream: Duplex): void {
  if (stream.destroyed) return;
  if (stream.writableFinished) {
    stream.destroy();
    return;
  }
  stream.once("finish", () => stream.destroy());
  stream.end();
}

function ignoreError(): void {}
