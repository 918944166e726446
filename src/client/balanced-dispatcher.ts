/**
 * Client-side balancing for undici and fetch: an undici `Dispatcher` whose
 * requests are spread by Switchyard balancers. Each logical service is named
 * by the host its requests use (`services: { orders: ... }` serves
 * `http://orders/...`) and has its own balancer and backends; requests to
 * any other origin go to `fallback` (an undici Agent, say) or fail.
 *
 *   const dispatcher = new BalancedDispatcher({ services: { orders: { backends: [...] } } });
 *   await fetch("http://orders/api/1", { dispatcher });
 *
 * Works with undici's `fetch`, `request`, `stream`, `setGlobalDispatcher`
 * and `compose` (interceptors), and with Node's built-in fetch.
 */
import { Dispatcher } from "undici";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { ServiceClient, type ServiceOptions, type ServiceStats } from "./service-client.js";

export interface BalancedDispatcherOptions {
  /** Services by the host their requests name: `{ orders: {...} }` serves `http://orders/...`. */
  services: Readonly<Record<string, ServiceOptions>>;
  /** Where requests to other origins go; without one they fail with SY_ERR_UNKNOWN_POOL. */
  fallback?: Dispatcher;
}

export class BalancedDispatcher extends Dispatcher {
  readonly #services = new Map<string, ServiceClient>();
  /** Origins already seen, by the string requests carry, so the URL is parsed once per origin. */
  readonly #byOrigin = new Map<string, ServiceClient>();
  readonly #fallback: Dispatcher | undefined;

  constructor(options: BalancedDispatcherOptions) {
    super();
    for (const [name, service] of Object.entries(options.services)) {
      this.#services.set(name.toLowerCase(), new ServiceClient(name, service));
    }
    this.#fallback = options.fallback;
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const service = this.#route(opts.origin);
    if (service !== undefined) return service.dispatch(opts, handler);
    if (this.#fallback !== undefined) return this.#fallback.dispatch(opts, handler);
    throw new SwitchyardError(ErrorCodes.UNKNOWN_POOL, `no service for origin ${String(opts.origin)}`, {
      origin: String(opts.origin),
      services: [...this.#services.keys()],
    });
  }

  /** The service named `name` (its balancer answers stats, metrics and explanations). */
  service(name: string): ServiceClient {
    const service = this.#services.get(name.toLowerCase());
    if (service === undefined) {
      throw new SwitchyardError(ErrorCodes.UNKNOWN_POOL, `no service named "${name}"`, { name });
    }
    return service;
  }

  /** Settles when every service's discovery has done its first lookup or read. */
  async ready(): Promise<void> {
    await Promise.all([...this.#services.values()].map((service) => service.ready));
  }

  /** Each service's balancer stats, and its discovery source's state when it has one, by service name. */
  stats(): Record<string, ServiceStats> {
    const stats: Record<string, ServiceStats> = {};
    for (const service of this.#services.values()) stats[service.name] = service.stats();
    return stats;
  }

  /** Closes every service (requests in flight finish); the fallback is the caller's to close. */
  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | undefined {
    const closed = Promise.all([...this.#services.values()].map((service) => service.close())).then(() => {});
    if (callback === undefined) return closed;
    void closed.then(callback, callback);
    return undefined;
  }

  /** Destroys every service, failing requests in flight with `error`. */
  override destroy(): Promise<void>;
  override destroy(error: Error | null): Promise<void>;
  override destroy(callback: () => void): void;
  override destroy(error: Error | null, callback: () => void): void;
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | undefined {
    const error = typeof first === "function" ? undefined : (first ?? undefined);
    const callback = typeof first === "function" ? first : second;
    const services = [...this.#services.values()];
    const destroyed = Promise.all(services.map((service) => service.destroy(error))).then(() => {});
    if (callback === undefined) return destroyed;
    void destroyed.then(callback, callback);
    return undefined;
  }

  #route(origin: Dispatcher.DispatchOptions["origin"]): ServiceClient | undefined {
    if (origin === undefined) return undefined;
    const key = typeof origin === "string" ? origin : origin.origin;
    const known = this.#byOrigin.get(key);
    if (known !== undefined) return known;
    let host: string;
    try {
      host = (typeof origin === "string" ? new URL(origin) : origin).host.toLowerCase();
    } catch {
      return undefined;
    }
    const service = this.#services.get(host);
    if (service !== undefined) this.#byOrigin.set(key, service);
    return service;
  }
}
