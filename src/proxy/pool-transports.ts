/**
 * The connections an HTTP listener keeps to each pool its routes proxy to:
 * the keep-alive upstream pools (upstream-pools.ts) and the WebSocket tunnels
 * (websocket.ts). A pool's transport is made the first time a route names its
 * balancer and is shared by every route to it, across reloads, until the
 * listener closes.
 */
import type { AttemptPolicy } from "../balancer/attempt-policy.js";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backend.js";
import type { Logger } from "../observability/logger.js";
import type { HttpProxySettings } from "./http-proxy-options.js";
import { UpstreamPools } from "./upstream-pools.js";
import { WebSocketProxy } from "./websocket.js";

/** The connections a listener keeps to one pool: HTTP keep-alive pools and WebSocket tunnels. */
export interface PoolTransport {
  readonly upstreams: UpstreamPools;
  readonly websockets: WebSocketProxy;
}

export class PoolTransports {
  readonly #settings: HttpProxySettings;
  readonly #attemptPolicy: AttemptPolicy;
  readonly #logger: Logger;
  readonly #onTunnelClosed: () => void;
  readonly #byBalancer = new Map<Balancer, PoolTransport>();

  constructor(
    settings: HttpProxySettings,
    attemptPolicy: AttemptPolicy,
    logger: Logger,
    onTunnelClosed: () => void,
  ) {
    this.#settings = settings;
    this.#attemptPolicy = attemptPolicy;
    this.#logger = logger;
    this.#onTunnelClosed = onTunnelClosed;
  }

  /** The transport to `balancer`'s pool, made on first use. */
  to = (balancer: Balancer): PoolTransport => {
    let found = this.#byBalancer.get(balancer);
    if (found === undefined) {
      const settings = this.#settings;
      found = {
        upstreams: new UpstreamPools(balancer.pool, {
          ...settings.upstream,
          logger: this.#logger,
          tls: balancer.backendTls,
          protocol: balancer.backendProtocol,
        }),
        websockets: new WebSocketProxy({
          balancer,
          connectTimeoutMs: settings.timeouts.connectMs,
          headersTimeoutMs: settings.timeouts.headersMs,
          idleTimeoutMs: settings.websocketIdleMs,
          attemptPolicy: this.#attemptPolicy,
          drainTimeoutMs: settings.drainTimeoutMs,
          logger: this.#logger,
          onTunnelClosed: this.#onTunnelClosed,
        }),
      };
      this.#byBalancer.set(balancer, found);
    }
    return found;
  };

  /** The keep-alive pools to `balancer`'s backends; undefined until a route to it was made. */
  upstreamsFor(balancer: Balancer): UpstreamPools | undefined {
    return this.#byBalancer.get(balancer)?.upstreams;
  }

  /** WebSocket tunnels open, to every pool. */
  get tunnels(): number {
    let open = 0;
    for (const transport of this.#byBalancer.values()) open += transport.websockets.size;
    return open;
  }

  /** WebSocket tunnels open to `backend`. */
  tunnelsTo(backend: Backend): number {
    let open = 0;
    for (const transport of this.#byBalancer.values()) open += transport.websockets.openTo(backend);
    return open;
  }

  destroyTunnels(): void {
    for (const transport of this.#byBalancer.values()) transport.websockets.destroyAll();
  }

  /** Closes the upstream pools: gently once the listener drained (requests in flight finish), else at once. */
  async closeUpstreams(drained: boolean): Promise<void> {
    await Promise.all(
      [...this.#byBalancer.values()].map(({ upstreams }) =>
        drained ? upstreams.close() : upstreams.destroy(),
      ),
    );
  }
}
