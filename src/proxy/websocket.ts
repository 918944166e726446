/**
 * WebSocket (and any HTTP/1.1 Upgrade) pass-through. The proxy does not speak
 * the WebSocket protocol: it picks a backend, opens a TCP connection to it
 * (a refused or timed-out connect moves to the decision's next candidate),
 * replays the client's request line and headers (hop-by-hop fields replaced by
 * `Connection: Upgrade` + the client's `Upgrade`, forwarding fields added) and
 * pipes the backend's answer to the client. Only once that answer is `101`
 * do the client's bytes (those already read past the head first) go to the
 * backend: a backend that did not switch protocols still reads HTTP, and
 * would take them for requests the proxy never framed. Any other answer
 * reaches the client and the tunnel closes behind it. An open tunnel pipes
 * both directions until one side closes or fails, which closes the other, or
 * until no byte has crossed the tunnel for `idleTimeoutMs`, which closes both. While a tunnel is open its
 * backend's `active` counter is raised and the decision's attempt stays open;
 * the attempt is reported when the tunnel closes, with the backend's handshake
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
import { ErrorCodes, isSwitchyardError } from "../core/errors.js";
import { dialBackend, tlsConnectOptions } from "../core/upstream-tls.js";
import type { Logger } from "../observability/logger.js";
import { BackendTunnels } from "./backend-tunnels.js";
import { proxyError, rawErrorResponse, replyAndClose } from "./error-responses.js";
import { buildUpstreamHeaders, clientAddress } from "./forwarded-headers.js";

export interface WebSocketProxyOptions {
  balancer: Balancer;
  /** Upper bound on connecting to one backend, in ms. */
  connectTimeoutMs: number;
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

const CONNECT_TIMEOUT_CODE = "SY_CONNECT_TIMEOUT";

export class WebSocketProxy {
  /** @internal */
  readonly balancer: Balancer;
  /** @internal */
  readonly connectTimeoutMs: number;
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
    const clientIp = clientAddress(client.remoteAddress);
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
    const target = route === undefined ? req.url : route.upstreamPath(req.url);
    let text = `${req.method} ${target} HTTP/${req.httpVersion}\r\n`;
    for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
    text += `Connection: Upgrade\r\nUpgrade: ${req.headers.upgrade ?? "websocket"}\r\n\r\n`;
    // The client's bytes wait (read by nobody, so kept) until the backend has switched protocols.
    client.pause();
    const tunnel = new Tunnel(this, client, Buffer.from(text, "latin1"), head);
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
  readonly #requestHead: Buffer;
  /** Client bytes read past the request head, sent once the backend answers 101. */
  readonly #early: Buffer;
  /** The start of the backend's answer, until its status code is in. */
  #answerStart = "";
  #decision: Decision | undefined;
  #upstream: net.Socket | undefined;
  #backend: Backend | undefined;
  #attempts = 0;
  #startedAt = 0;
  #status: number | undefined;
  #latencyMs: number | undefined;
  #upstreamFailed = false;
  #state: "connecting" | "open" | "closed" = "connecting";

  constructor(owner: WebSocketProxy, client: net.Socket, requestHead: Buffer, early: Buffer) {
    this.#owner = owner;
    this.#client = client;
    this.#requestHead = requestHead;
    this.#early = early;
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
    const { socket: upstream, ready } = dialBackend(
      backend.host,
      backend.port,
      tlsConnectOptions(backend, this.#owner.balancer.backendTls),
    );
    upstream.setTimeout(this.#owner.connectTimeoutMs);
    upstream.once("timeout", onConnectTimeout);
    upstream.once(ready, this.#onConnect);
    upstream.on("error", this.#onUpstreamError);
    upstream.on("close", this.#onUpstreamClose);
    this.#upstream = upstream;
  }

  #onConnect = (): void => {
    const upstream = this.#upstream as net.Socket;
    const decision = this.#decision as Decision;
    upstream.setTimeout(0);
    upstream.off("timeout", onConnectTimeout);
    if (this.#state !== "connecting") {
      upstream.destroy();
      return;
    }
    this.#state = "open";
    this.#backend = decision.backend;
    this.#backend.active++;
    // Every byte either way is read on one socket and written on the other,
    // so the client socket's own timer measures the whole tunnel's idleness.
    this.#client.setTimeout(this.#owner.idleTimeoutMs);
    this.#client.once("timeout", this.#onIdle);
    upstream.on("data", this.#onAnswerStart);
    upstream.write(this.#requestHead);
    upstream.pipe(this.#client);
    this.#owner._opened(this.#backend, this);
  };

  /** Reads the backend's status code; client bytes flow to the backend only after a 101. */
  #onAnswerStart = (chunk: Buffer): void => {
    this.#latencyMs ??= performance.now() - this.#startedAt;
    const missing = STATUS_CODE_END - this.#answerStart.length;
    this.#answerStart += chunk.toString("latin1", 0, Math.min(chunk.length, missing));
    if (this.#answerStart.length < STATUS_CODE_END) return;
    const upstream = this.#upstream as net.Socket;
    upstream.off("data", this.#onAnswerStart);
    // "HTTP/1.1 101 ..." → digits at offsets 9..11.
    const status = this.#answerStart.startsWith("HTTP/") ? Number(this.#answerStart.slice(9)) : Number.NaN;
    if (Number.isInteger(status)) this.#status = status;
    if (status === 101) {
      if (this.#early.length > 0) upstream.write(this.#early);
      this.#client.pipe(upstream);
    } else {
      // Not upgraded: nothing more goes to the backend; the tunnel closes once it has answered.
      upstream.end();
    }
  };

  #onUpstreamError = (error: Error & { code?: string }): void => {
    const upstream = this.#upstream;
    if (this.#state === "open") {
      this.#upstreamFailed = true;
      this.#teardown(true);
      return;
    }
    if (this.#state !== "connecting" || !upstream) return;
    // This socket is done: detach it so its late events cannot touch the next attempt.
    upstream.off("close", this.#onUpstreamClose);
    upstream.off("error", this.#onUpstreamError);
    upstream.on("error", ignoreError);
    upstream.destroy();
    this.#upstream = undefined;
    const timedOut = error.code === CONNECT_TIMEOUT_CODE;
    const code = timedOut ? ErrorCodes.UPSTREAM_TIMEOUT : ErrorCodes.UPSTREAM_CONNECT;
    const decision = this.#decision as Decision;
    decision.finish({ error: code, latencyMs: performance.now() - this.#startedAt });
    this.#owner.logger.debug(
      { backend: decision.backend.id, err: error, attempt: this.#attempts },
      "websocket upstream connect failed",
    );
    // A refused connect never reached the backend: any upgrade may go again.
    if (this.#owner.attemptPolicy.allowsRetry(this.#attempts - 1, "always", false)) {
      const next = decision.next();
      if (next) {
        this.#owner.attemptPolicy.retried();
        this.#connect(next);
        return;
      }
    }
    this.#state = "closed";
    const message = timedOut ? "connecting to the backend timed out" : "could not connect to any backend";
    replyAndClose(this.#client, rawErrorResponse(proxyError(code, message)));
    this.#owner._closed(this, undefined);
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
    this.#upstream?.destroy();
  };

  #onUpstreamClose = (): void => {
    if (this.#state === "open") this.#teardown(false);
  };

  #onClientClose = (): void => {
    this.#teardown(this.#state !== "open");
  };

  /**
   * Closes both sides once. After an error (or while still connecting) both
   * sockets are destroyed; after a clean close the other side is ended and
   * destroyed once its pending writes are flushed.
   */
  #teardown(hard: boolean): void {
    if (this.#state === "closed") return;
    const wasOpen = this.#state === "open";
    this.#state = "closed";
    const upstream = this.#upstream;
    if (hard) {
      this.#client.destroy();
      upstream?.destroy();
    } else {
      this.#client.destroySoon();
      upstream?.destroySoon();
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

/** Where the status code of `HTTP/1.1 101 ...` ends. */
const STATUS_CODE_END = 12;

function onConnectTimeout(this: net.Socket): void {
  this.destroy(Object.assign(new Error("connect timeout"), { code: CONNECT_TIMEOUT_CODE }));
}

function ignoreError(): void {}
