/**
 * One logical service behind the client dispatcher: a Switchyard balancer
 * (algorithm, health checks, outlier ejection, breakers, affinity), an undici
 * Pool per backend, and a retry budget shared by the service's requests.
 * `dispatch` turns an undici request into a balancer decision and hands it
 * to a `BalancedRequest`.
 */
import type { Dispatcher } from "undici";
import type { KnownAlgorithmSpec } from "../algorithms/registry.js";
import { AttemptPolicy } from "../balancer/attempt-policy.js";
import {
  type Balancer,
  type BalancerOptions,
  type BalancerStats,
  createBalancer,
} from "../balancer/balancer.js";
import type { RetryBudgetOptions } from "../balancer/retry-budget.js";
import type { BackendSpec } from "../core/backend.js";
import type { Decision } from "../core/decision.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { Discovery } from "../discovery/discovery.js";
import type { DiscoveryOptions } from "../discovery/discovery-options.js";
import type { DiscoveryStats } from "../discovery/refresh-status.js";
import { type BackendPoolOptions, BackendPools } from "./backend-pools.js";
import { BalancedRequest, type RequestHost } from "./balanced-request.js";
import { controllerHandler } from "./handler-adapter.js";
import { requestContext } from "./request-context.js";

/** Methods RFC 9110 §9.2.2 calls idempotent: sent again after a reset. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

export const DEFAULT_MAX_RETRIES = 2;

export interface ServiceOptions extends Omit<BalancerOptions, "backends" | "algorithm"> {
  /** Algorithm name or `{ name, ...options }`, checked at compile time; default round-robin. */
  algorithm?: KnownAlgorithmSpec;
  /** Backends: `host:port`, `http://host:port`, or specs with weights, regions and labels. */
  backends?: readonly (BackendSpec | string)[];
  /**
   * Backends from DNS (`{ dns: { hostname, port } }` for A/AAAA records,
   * `{ dns: { srv } }` for SRV records, re-resolved on their TTL), a JSON
   * file (`{ file: { path } }`, followed as it is edited) or a pool in etcd
   * (`{ etcd: { endpoints, pool } }`, followed with a watch; etcd3 loads only
   * then), beside any `backends`.
   */
  discovery?: DiscoveryOptions;
  /**
   * Other backends one request may move to when an attempt fails before any
   * response (connect errors; resets of idempotent requests); default 2.
   */
  maxRetries?: number;
  /** Caps retries at a share of requests (proxy/retry-budget.ts), or false for no cap. Default on. */
  retryBudget?: Partial<RetryBudgetOptions> | false;
  /**
   * Options of each backend's undici Pool: `connections`, `connectTimeout`,
   * `headersTimeout`, `bodyTimeout`, `keepAliveTimeout`...
   */
  poolOptions?: BackendPoolOptions;
  /** The request's affinity key (becomes `ctx.sessionId`), e.g. a user id header. */
  affinityKey?: (opts: Dispatcher.DispatchOptions) => string | undefined;
}

/** A service's balancer stats, with its discovery source's state when it has one. */
export type ServiceStats = BalancerStats & { discovery?: DiscoveryStats };

export class ServiceClient implements RequestHost {
  readonly name: string;
  readonly balancer: Balancer;
  readonly pools: BackendPools;
  readonly attemptPolicy: AttemptPolicy;
  /** The discovery feeding the pool, when `discovery` is given (its `stats()` tell how it goes). */
  readonly discovery: Discovery | undefined;
  /** Settles once discovery's first lookup is done (at once without discovery). */
  readonly ready: Promise<void>;
  readonly #affinityKey: ServiceOptions["affinityKey"];

  constructor(name: string, options: ServiceOptions) {
    const { backends, discovery, maxRetries, retryBudget, poolOptions, affinityKey, ...balancerOptions } =
      options;
    const maxRetriesValue = maxRetries ?? DEFAULT_MAX_RETRIES;
    if (!Number.isInteger(maxRetriesValue) || maxRetriesValue < 0 || maxRetriesValue > 10) {
      throw new SwitchyardError(
        ErrorCodes.INVALID_OPTIONS,
        "maxRetries must be a whole number from 0 to 10",
        {
          service: name,
          maxRetries,
        },
      );
    }
    this.name = name;
    this.#affinityKey = affinityKey;
    const balancer = createBalancer({
      ...balancerOptions,
      backends: backends?.map((backend) => (typeof backend === "string" ? { address: backend } : backend)),
    });
    // Built before the balancer starts its checks, so bad discovery options leave nothing running.
    this.discovery = discovery === undefined ? undefined : new Discovery(balancer.pool, discovery);
    this.balancer = balancer.start();
    this.pools = new BackendPools(
      this.balancer.pool,
      poolOptions ?? {},
      this.balancer.backendTls,
      this.balancer.backendProtocol,
    );
    this.attemptPolicy = new AttemptPolicy({
      maxRetries: maxRetriesValue,
      retryBudget,
      now: this.balancer.env.now,
    });
    this.ready = this.discovery?.start() ?? Promise.resolve();
  }

  /** Always true: each backend's Pool queues, so callers never wait for a `drain` from the client. */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const method = opts.method.toUpperCase();
    const ctx = requestContext(opts, this.#affinityKey?.(opts));
    const request = new BalancedRequest(this, opts, controllerHandler(handler), IDEMPOTENT.has(method));
    let decision: Decision | Error;
    try {
      decision = this.balancer.select(ctx);
    } catch (error) {
      decision = error instanceof Error ? error : new Error(String(error));
    }
    request.start(decision);
    return true;
  }

  stats(): ServiceStats {
    const discovery = this.discovery?.stats();
    return { ...this.balancer.stats(), ...(discovery === undefined ? {} : { discovery }) };
  }

  /** Stops health checks and closes the backends' pools, letting requests in flight finish. */
  async close(): Promise<void> {
    this.discovery?.stop();
    await this.balancer.stop();
    await this.pools.close();
  }

  /** Stops health checks and destroys the pools, failing requests in flight. */
  async destroy(error?: Error): Promise<void> {
    this.discovery?.stop();
    await this.balancer.stop();
    await this.pools.destroy(error);
  }
}
