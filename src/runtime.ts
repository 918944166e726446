/**
 * The running proxy assembled from a validated config: one pool and balancer
 * per configured pool (its health checks and discovery running until close,
 * listeners bound after discovery's first answer), one HTTP or
 * TCP proxy per listener, and the admin API when `admin` is configured.
 * Start is all or nothing: if any listener cannot
 * bind, the ones already listening are closed and the error names the
 * listener and its address. Close is graceful and idempotent: every listener
 * stops accepting and finishes its work in flight within the grace period.
 *
 * Over 400 lines because it is the one place where every component is built
 * and wired, and where a reload reaches them; each piece it wires has its own file.
 */

import { AdminServer } from "./admin/admin-server.js";
import type { AgentPollerStats } from "./agent/poller.js";
import { type PoolAgents, startPoolAgents } from "./agent/pool-agents.js";
import { Balancer } from "./balancer/balancer.js";
import type { ConfigStore } from "./config/config-store.js";
import {
  applyReloadPlan,
  describePlan,
  diffConfig,
  effectiveConfig,
  type ReloadResult,
} from "./config/reload.js";
import { ReloadStats } from "./config/reload-stats.js";
import type { ListenerConfig, SwitchyardConfig } from "./config/schema.js";
import { parseListenAddress } from "./config/schema.js";
import type { AdminConfigStore } from "./config/store-writes.js";
import { formatHostPort } from "./core/address.js";
import { ErrorCodes, SwitchyardError } from "./core/errors.js";
import { Pool } from "./core/pool.js";
import { watchFile } from "./core/watch-file.js";
import { Discovery } from "./discovery/discovery.js";
import type { DiscoveryStats } from "./discovery/refresh-status.js";
import { GeoResolvers } from "./geo/geo-resolvers.js";
import { AccessLog } from "./observability/access-log.js";
import { type Logger, silentLogger } from "./observability/logger.js";
import type { ListenerMetricsSource } from "./prometheus/exporter.js";
import { HttpProxy } from "./proxy/http-proxy.js";
import type { RouteOptions } from "./proxy/routes/route.js";
import { TcpProxy } from "./proxy/tcp-proxy.js";
import { type CertificateFiles, TlsCertificates } from "./proxy/tls-certificates.js";

export interface RuntimeListener {
  name: string;
  protocol: "http" | "tcp";
  /** Bound host and port (the real port when the config asked for 0). */
  host: string;
  port: number;
  /** The default pool; undefined for an HTTP listener with routes only. */
  pool: string | undefined;
}

export interface Runtime {
  readonly config: SwitchyardConfig;
  /** Pool name → its balancer (read stats, switch algorithms, manage backends through `.pool`). */
  readonly balancers: Map<string, Balancer>;
  /** Pool name → its discovery (a source only when the pool has `discovery`; `stats()` tells how it goes). */
  readonly discoveries: Map<string, Discovery>;
  /** Pool name → its agent poller and metrics store, for pools whose backends have agents. */
  readonly agents: Map<string, PoolAgents>;
  readonly listeners: RuntimeListener[];
  /** Bound address of the admin API, when configured. */
  readonly admin: { host: string; port: number } | undefined;
  /** Stops every listener, letting work in flight finish for up to `graceMs` (default `config.shutdownGraceMs`). */
  close(graceMs?: number): Promise<void>;
  /**
   * Applies a new validated config in place, without restarting listeners:
   * backends added, removed with drain (not awaited; see `drained`),
   * re-weighted, enabled or disabled, algorithms switched, discovery sources
   * replaced, HTTP listeners' routes and rate limits replaced. Changes that need a
   * restart are reported and logged at warn; the rest is still applied.
   */
  reload(next: SwitchyardConfig): ReloadResult;
  /** Reloads applied (by `reload`) and rejected (counted by the file watcher and the etcd sync). */
  readonly reloads: ReloadStats;
}

export interface StartOptions {
  logger?: Logger;
  /** The shared store the pools live in (etcd), for the admin API's writes and status. */
  configStore?: AdminConfigStore;
}

/** A listener could not bind its address; `cause` is the system error. */
export class ListenError extends SwitchyardError {
  readonly listener: string;
  readonly address: string;
  /** System error code, e.g. EADDRINUSE. */
  readonly reason: string | undefined;

  constructor(listener: string, address: string, cause: unknown) {
    const reason = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(
      ErrorCodes.LISTEN,
      `listener "${listener}" cannot listen on ${address}: ${describeListenFailure(cause)}`,
      { listener, address, reason },
    );
    this.name = "ListenError";
    this.listener = listener;
    this.address = address;
    this.reason = reason;
  }
}

interface Proxy {
  listen(): Promise<{ host: string; port: number }>;
  close(graceMs?: number): Promise<void>;
}

/** Builds pools, balancers and proxies from `config` and starts every listener. */
export async function startSwitchyard(
  config: SwitchyardConfig,
  options: StartOptions = {},
): Promise<Runtime> {
  const logger = options.logger ?? silentLogger;
  const balancers = new Map<string, Balancer>();
  const agents = new Map<string, PoolAgents>();
  const discoveries = new Map<string, Discovery>();
  // One set for every pool: pools with the same geo options share a warm resolver.
  const geoResolvers = new GeoResolvers();
  // Every pool is built before any starts, so a bad one (an unreadable backend CA) leaves nothing running.
  const built = Object.entries(config.pools).map(([name, poolConfig]) => {
    const balancer = new Balancer({
      pool: new Pool(poolConfig.backends),
      algorithm: poolConfig.algorithm,
      healthCheck: poolConfig.healthCheck,
      outlierDetection: poolConfig.outlierDetection,
      circuitBreaker: poolConfig.circuitBreaker,
      slowStart: poolConfig.slowStart,
      panic: poolConfig.panic,
      affinity: poolConfig.affinity,
      backendTls: poolConfig.backendTls,
      backendProtocol: poolConfig.backendProtocol,
      logger: logger.child({ pool: name }),
      metrics: { explain: config.log.decisions },
      geoResolvers,
    });
    const discovery = new Discovery(
      balancer.pool,
      poolConfig.discovery,
      logger.child({ pool: name, component: "discovery" }),
    );
    return { name, poolConfig, balancer, discovery };
  });
  for (const { name, poolConfig, balancer, discovery } of built) {
    balancers.set(name, balancer.start());
    discoveries.set(name, discovery);
    const poolAgents = startPoolAgents(
      balancer.pool,
      balancer.env.resourceReports,
      poolConfig,
      logger.child({ pool: name }),
    );
    if (poolAgents) agents.set(name, poolAgents);
  }
  // Listeners open on discovered backends rather than an empty pool (a failed first lookup is only logged).
  await Promise.all([...discoveries.values()].map((discovery) => discovery.start()));

  const started: Proxy[] = [];
  /** HTTP listeners by name, for reloading their routes. */
  const httpProxies = new Map<string, HttpProxy>();
  const listeners: RuntimeListener[] = [];
  const metricsSources: ListenerMetricsSource[] = [];
  const accessLog = config.log.access?.enabled
    ? new AccessLog(logger.child({ component: "access" }), { sample: config.log.access.sample })
    : undefined;
  const stopAll = async (graceMs: number) => {
    for (const stop of unwatch.splice(0)) stop();
    for (const discovery of discoveries.values()) discovery.stop();
    await Promise.allSettled(started.map((proxy) => proxy.close(graceMs)));
    await Promise.allSettled([...balancers.values()].map((balancer) => balancer.stop()));
    await Promise.allSettled([...agents.values()].map((poolAgents) => poolAgents.stop()));
  };
  /** Listens, or closes everything started so far and throws a ListenError naming the listener. */
  const bind = async (server: Proxy, name: string, listen: { host: string; port: number }) => {
    started.push(server);
    try {
      return await server.listen();
    } catch (error) {
      await stopAll(0);
      throw new ListenError(name, formatHostPort(listen.host, listen.port), error);
    }
  };

  /** Stops watching certificate files. */
  const unwatch: (() => void)[] = [];
  /** Loads a TLS listener's certificates and reloads them when their files change (or on SIGHUP). */
  const certificatesFor = async (name: string, files: readonly CertificateFiles[]) => {
    let certificates: TlsCertificates;
    try {
      certificates = await TlsCertificates.load(files);
    } catch (error) {
      await stopAll(0);
      throw error;
    }
    const tlsLogger = logger.child({ component: "tls", listener: name });
    const reload = () =>
      certificates.reload().then(
        () => tlsLogger.info("TLS certificates reloaded"),
        (error: Error) =>
          tlsLogger.error({ err: error }, "TLS certificates not reloaded; serving the previous ones"),
      );
    // One SIGHUP reload per listener; file changes reload on their own.
    [...new Set(files.flatMap((pair) => [pair.cert, pair.key]))].forEach((file, i) => {
      unwatch.push(watchFile(file, reload, tlsLogger, { what: `TLS file ${file}`, sighup: i === 0 }));
    });
    return certificates;
  };

  for (const listener of config.listeners) {
    // Without a default pool (an http listener with routes), unmatched requests get 404.
    const balancer = listener.pool === undefined ? undefined : balancers.get(listener.pool);
    const listen = parseListenAddress(listener.listen);
    if ((listener.pool !== undefined && !balancer) || !listen || (listener.protocol === "tcp" && !balancer)) {
      await stopAll(0);
      throw new Error(`listener "${listener.name}" is not valid; validate the config with parseConfig first`);
    }
    const proxy: Proxy =
      listener.protocol === "tcp" && balancer
        ? new TcpProxy({
            balancer,
            name: listener.name,
            host: listen.host,
            port: listen.port,
            connectTimeoutMs: listener.timeouts?.connectMs,
            idleTimeoutMs: listener.timeouts?.idleMs,
            drainTimeoutMs: listener.drainTimeoutMs,
            maxRetries: listener.maxRetries,
            retryBudget: listener.retryBudget,
            acceptSockets: listener.acceptSockets,
            acceptProxyProtocol: listener.acceptProxyProtocol,
            sendProxyProtocol: listener.sendProxyProtocol,
            logger,
          })
        : new HttpProxy({
            balancer,
            name: listener.name,
            host: listen.host,
            port: listen.port,
            timeouts: listener.timeouts,
            maxRetries: listener.maxRetries,
            retryOn: listener.retryOn,
            retryBufferBytes: listener.retryBufferBytes,
            retryBudget: listener.retryBudget,
            maxConnections: listener.maxConnections,
            queueTimeoutMs: listener.queueTimeoutMs,
            maxRequestsPerConnection: listener.maxRequestsPerConnection,
            acceptSockets: listener.acceptSockets,
            acceptProxyProtocol: listener.acceptProxyProtocol,
            drainTimeoutMs: listener.drainTimeoutMs,
            tls:
              listener.tls === undefined
                ? undefined
                : {
                    certificates: await certificatesFor(listener.name, listener.tls.certificates),
                    minVersion: listener.tls.minVersion,
                  },
            http2: listener.http2,
            h2c: listener.h2c,
            redirectToHttps: listener.redirectToHttps === true ? {} : listener.redirectToHttps,
            pool: listener.pool,
            rateLimit: listener.rateLimit,
            routes: routeOptions(listener.routes, balancers),
            accessLog,
            logger,
          });
    if (proxy instanceof HttpProxy) httpProxies.set(listener.name, proxy);
    const bound = await bind(proxy, listener.name, listen);
    metricsSources.push({
      name: listener.name,
      pool: listener.pool,
      protocol: listener.protocol,
      stats: proxy instanceof HttpProxy ? () => proxy.stats() : undefined,
      connections: proxy instanceof TcpProxy ? () => proxy.connections : undefined,
    });
    listeners.push({
      name: listener.name,
      protocol: listener.protocol,
      host: bound.host,
      port: bound.port,
      pool: listener.pool,
    });
  }

  let current = config;
  const reloads = new ReloadStats();
  let closing: Promise<void> | undefined;
  let admin: { host: string; port: number } | undefined;
  if (config.admin) {
    const listen = parseListenAddress(config.admin.listen) ?? { host: "127.0.0.1", port: 9090 };
    const server = new AdminServer({
      balancers,
      config: () => current,
      token: config.admin.token,
      host: listen.host,
      port: listen.port,
      allowedHosts: config.admin.allowedHosts,
      cors: config.admin.cors,
      logger,
      ready: () => ({ ready: closing === undefined, reasons: closing ? ["shutting down"] : [] }),
      listeners: () => metricsSources,
      loadTargets: () =>
        listeners
          .filter((listener) => listener.protocol === "http")
          .map(({ name, host, port }) => ({ name, host, port })),
      processMetrics: true,
      agents: () => {
        const stats: Record<string, AgentPollerStats> = {};
        for (const [name, poolAgents] of agents) stats[name] = poolAgents.poller.stats();
        return stats;
      },
      discovery: () => {
        const stats: Record<string, DiscoveryStats> = {};
        for (const [name, discovery] of discoveries) {
          const source = discovery.stats();
          if (source) stats[name] = source;
        }
        return stats;
      },
      configStore: options.configStore,
      reloads: () => reloads,
    });
    admin = await bind(server, "admin", listen);
  }

  for (const listener of listeners) {
    logger.info(
      {
        listener: listener.name,
        protocol: listener.protocol,
        address: formatHostPort(listener.host, listener.port),
        pool: listener.pool,
        algorithm: listener.pool === undefined ? undefined : balancers.get(listener.pool)?.algorithm,
      },
      "listening",
    );
  }

  return {
    get config() {
      return current;
    },
    balancers,
    discoveries,
    agents,
    listeners,
    admin,
    reloads,
    close(graceMs = config.shutdownGraceMs) {
      closing ??= stopAll(graceMs);
      return closing;
    },
    reload(next) {
      const reloadLogger = logger.child({ component: "reload" });
      const plan = diffConfig(current, next);
      const applied = applyReloadPlan(balancers, plan, { logger: reloadLogger });
      for (const { pool, discovery } of plan.pools) {
        if (discovery === undefined) continue;
        discoveries
          .get(pool)
          ?.update(discovery.to)
          .catch((error: Error) =>
            reloadLogger.warn({ pool }, `pool "${pool}": discovery: ${error.message}`),
          );
      }
      const routed = plan.listeners.filter((change) => {
        try {
          httpProxies
            .get(change.listener)
            ?.setRoutes(
              routeOptions(change.routes, balancers),
              change.rateLimit,
              defaultPool(change.pool, balancers),
            );
          return true;
        } catch (error) {
          applied.errors.push(
            `listener "${change.listener}": routes not applied: ${(error as Error).message}`,
          );
          return false;
        }
      });
      current = effectiveConfig(current, next, routed);
      reloads.recordApplied();
      const summary = describePlan(plan);
      reloadLogger.info({ changes: summary }, `config reloaded: ${summary}`);
      if (plan.needsRestart.length > 0) {
        reloadLogger.warn(
          { needsRestart: plan.needsRestart },
          `config changes not applied, they need a restart: ${plan.needsRestart.join("; ")}`,
        );
      }
      if (applied.errors.length > 0) {
        reloadLogger.warn({ errors: applied.errors }, `config reload: ${applied.errors.join("; ")}`);
      }
      return { ...applied, summary };
    },
  };
}

/**
 * Starts from a config store: resolves its config, starts the runtime with
 * the store's admin side (writes and status), then follows the store's
 * changes. `makeLogger` gets the config, for its log level. The store is
 * closed when the start fails, so an open etcd client cannot keep the
 * process alive.
 */
export async function startFromConfigStore(
  store: ConfigStore,
  makeLogger: (config: SwitchyardConfig) => Logger,
): Promise<{ runtime: Runtime; logger: Logger }> {
  try {
    const config = await store.resolve();
    const logger = makeLogger(config);
    const runtime = await startSwitchyard(config, { logger, configStore: store.admin });
    store.follow(runtime, logger);
    return { runtime, logger };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** A listener's configured routes with their pools' balancers, as the HTTP proxy takes them. */
function routeOptions(
  routes: ListenerConfig["routes"],
  balancers: ReadonlyMap<string, Balancer>,
): RouteOptions[] {
  return (routes ?? []).map((route) => ({
    ...route,
    balancer: route.pool === undefined ? undefined : balancers.get(route.pool),
  }));
}

/** A listener's default pool as the proxy takes it; null: none. */
function defaultPool(
  pool: string | undefined,
  balancers: ReadonlyMap<string, Balancer>,
): { balancer: Balancer; pool: string } | null {
  const balancer = pool === undefined ? undefined : balancers.get(pool);
  return balancer === undefined || pool === undefined ? null : { balancer, pool };
}

function describeListenFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "EADDRINUSE":
      return "the address is already in use (EADDRINUSE)";
    case "EACCES":
      return "permission denied; ports below 1024 need privileges (EACCES)";
    case "EADDRNOTAVAIL":
      return "the address is not available on this machine (EADDRNOTAVAIL)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `the host name does not resolve (${code})`;
    default:
      return error instanceof Error ? error.message : String(error);
  }
}
