/**
 * The admin API server: its own node:http listener (default 127.0.0.1:9090)
 * answering JSON (Prometheus text on `/metrics`, server-sent events on
 * `/api/events`, the dashboard's files at `/`). Each request's Host is checked
 * (allowed-hosts.ts: 421 for a name it does not know), then it is routed (404
 * unknown path, 405 wrong method), writes are authorised with the bearer token and their bodies read
 * with a 64 KiB bound, then a plain handler (read-routes.ts,
 * write-routes.ts) returns the reply. Every error is `{ error: CODE, message }`
 * with the status its code maps to; every write, done or refused, is logged
 * with the caller's address.
 */

import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AgentPollerStats } from "../agent/poller.js";
import type { Balancer } from "../balancer/balancer.js";
import type { ReloadStats } from "../config/reload-stats.js";
import type { AdminConfigStore } from "../config/store-writes.js";
import { listenOn } from "../core/listen.js";
import type { DiscoveryStats } from "../discovery/refresh-status.js";
import { type Logger, silentLogger } from "../observability/logger.js";
import { type ListenerMetricsSource, PrometheusExporter } from "../prometheus/exporter.js";
import type { AdminContext, AdminHandler, Readiness } from "./admin-context.js";
import { AdminError, AdminErrorCodes, toAdminError } from "./admin-errors.js";
import { AllowedHosts } from "./allowed-hosts.js";
import { requireBearer } from "./auth.js";
import type { ChartFigures } from "./chart-history.js";
import { addCompatRoutes } from "./compat-routes.js";
import { answerPreflight, applyCors, type CorsOptions, isPreflight } from "./cors.js";
import { addDashboardRoutes, defaultDashboardDir } from "./dashboard-files.js";
import { sendEventStream } from "./event-stream.js";
import { addHistoryRoutes, HistoryRecorder } from "./history-routes.js";
import { readJsonBody, sendError, sendJson } from "./json-http.js";
import { addEventRoutes, LiveEvents } from "./live-events.js";
import { liveSnapshot } from "./live-snapshot.js";
import { addLoadTestRoutes, type LoadTarget, LoadTests } from "./load-test-routes.js";
import { addReadRoutes } from "./read-routes.js";
import { Router } from "./router.js";
import { addStoreWriteRoutes } from "./store-write-routes.js";
import { addWriteRoutes } from "./write-routes.js";

export const DEFAULT_ADMIN_HOST = "127.0.0.1";
export const DEFAULT_ADMIN_PORT = 9090;
/** How long `close()` lets requests in progress finish before dropping their connections. */
export const DEFAULT_ADMIN_CLOSE_GRACE_MS = 1_000;

export interface AdminServerOptions {
  /** Pool name → its balancer. */
  balancers: ReadonlyMap<string, Balancer>;
  /** Reads the running config (current after hot reloads), served by `/api/config` with secrets redacted. */
  config?: () => unknown;
  /** Bearer token for writes; without one, every write is refused (403). */
  token?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 9090; 0 lets the OS choose. */
  port?: number;
  /**
   * Host names answered besides localhost, IP addresses and `host` (DNS
   * rebinding guard, see allowed-hosts.ts); `"*"` answers any.
   */
  allowedHosts?: readonly string[];
  /** Origins allowed to call the API from a browser. */
  cors?: CorsOptions;
  /** Default silent. */
  logger?: Logger;
  /** Extra readiness, combined with "every pool has a ready backend". */
  ready?: () => Readiness;
  /** The proxy listeners, for their counters in `/metrics` and `/api/stats`. */
  listeners?: () => readonly ListenerMetricsSource[];
  /** Add process and Node metrics to `/metrics` (once per process); default false. */
  processMetrics?: boolean;
  /** Pool name → its agent poller's stats, served by `/api/agents` and exported on `/metrics`. */
  agents?: () => Readonly<Record<string, AgentPollerStats>>;
  /** Pool name → its discovery source's stats, served in `/api/stats` and exported on `/metrics`. */
  discovery?: () => Readonly<Record<string, DiscoveryStats>>;
  /** Bound addresses of the HTTP listeners, targets of `POST /api/load-test` (the first is the default). */
  loadTargets?: () => readonly LoadTarget[];
  /** Where the built dashboard is (index.html, app.js, app.css); default dist/dashboard in this package. */
  dashboardDir?: string;
  /** How often `/api/events` pushes a snapshot; default 1000 ms. */
  eventsIntervalMs?: number;
  /** How often the chart history (`/api/history`) samples; default 1000 ms. */
  historyIntervalMs?: number;
  /** Event streams open at once; default 64. */
  maxEventStreams?: number;
  /** The shared store the pools live in (etcd): writes go there, its status shows in stats and `/ready`. */
  configStore?: AdminConfigStore;
  /** The runtime's config reloads, exported on `/metrics`. */
  reloads?: () => ReloadStats;
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export class AdminServer {
  readonly logger: Logger;
  #server: http.Server;
  #router = new Router<AdminHandler>();
  #context: AdminContext;
  #token: string | undefined;
  #cors: CorsOptions | undefined;
  #host: string;
  #port: number;
  #allowedHosts: AllowedHosts;
  #address: { host: string; port: number } | undefined;
  #closing: Promise<void> | undefined;
  #loadTests: LoadTests;
  #events: LiveEvents;
  #history: HistoryRecorder;

  constructor(options: AdminServerOptions) {
    this.logger = (options.logger ?? silentLogger).child({ component: "admin" });
    this.#token = options.token;
    this.#cors = options.cors;
    this.#host = options.host ?? DEFAULT_ADMIN_HOST;
    this.#port = options.port ?? DEFAULT_ADMIN_PORT;
    this.#allowedHosts = new AllowedHosts(this.#host, options.allowedHosts);
    this.#context = {
      balancers: options.balancers,
      config: options.config,
      logger: this.logger,
      startedAt: Date.now(),
      ready: options.ready,
      configStore: options.configStore,
    };
    const listeners = options.listeners ?? (() => []);
    const store = options.configStore;
    const exporter = new PrometheusExporter(
      {
        balancers: options.balancers,
        listeners,
        agents: options.agents,
        discovery: options.discovery,
        configStore: store && (() => store.status()),
        reloads: options.reloads,
      },
      { processMetrics: options.processMetrics },
    );
    const observability = { exporter, listeners, agents: options.agents, discovery: options.discovery };
    addReadRoutes(this.#router, observability);
    if (options.configStore) addStoreWriteRoutes(this.#router, options.configStore);
    else addWriteRoutes(this.#router);
    addCompatRoutes(this.#router);
    const loadTests = new LoadTests(options.loadTargets ?? (() => []), this.logger);
    this.#loadTests = loadTests;
    addLoadTestRoutes(this.#router, loadTests);
    this.#events = new LiveEvents({
      snapshot: () => liveSnapshot(this.#context, observability, loadTests),
      intervalMs: options.eventsIntervalMs,
      maxStreams: options.maxEventStreams,
      logger: this.logger,
    });
    addEventRoutes(this.#router, this.#events);
    this.#history = new HistoryRecorder(
      () => chartFigures(options.balancers),
      this.logger,
      options.historyIntervalMs,
    );
    addHistoryRoutes(this.#router, this.#history);
    addDashboardRoutes(this.#router, options.dashboardDir ?? defaultDashboardDir(), this.logger);
    this.#server = http.createServer(
      { requestTimeout: 30_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 },
      this.#onRequest,
    );
  }

  /** The bound address once listening, else undefined. */
  get address(): { host: string; port: number } | undefined {
    return this.#address;
  }

  /** Starts listening; resolves with the bound address (the real port when 0 was asked). */
  listen(): Promise<{ host: string; port: number }> {
    if (this.#address) return Promise.resolve(this.#address);
    // Exclusive: in a cluster each worker's admin API is its own, never shared by node:cluster.
    return listenOn(this.#server, this.#host, this.#port, this.logger, "admin API", { exclusive: true }).then(
      (address) => {
        this.#address = address;
        this.#history.start();
        this.logger.info({ writes: this.#token ? "token" : "disabled" }, "admin API writes");
        return address;
      },
    );
  }

  /**
   * Stops accepting, lets requests in progress finish for up to `graceMs`,
   * then drops what is left. Event streams end at once. Idempotent.
   * Background drains started by DELETE keep running: they belong to the pool.
   */
  close(graceMs = DEFAULT_ADMIN_CLOSE_GRACE_MS): Promise<void> {
    this.#loadTests.abort();
    this.#events.close();
    this.#history.stop();
    this.#closing ??= this.#shutdown(graceMs);
    return this.#closing;
  }

  async #shutdown(graceMs: number): Promise<void> {
    const server = this.#server;
    if (!server.listening) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
    this.#address = undefined;
    this.logger.info("admin API closed");
  }

  #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.#serve(req, res).catch((error: unknown) => {
      this.logger.error({ err: error }, "admin response failed");
      res.destroy();
    });
  };

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    const remote = req.socket.remoteAddress ?? "unknown";
    const write = !READ_METHODS.has(method);
    let path = "/";
    try {
      this.#allowedHosts.check(req.headers.host);
      const corsAllowed = applyCors(req, res, this.#cors);
      const url = new URL(req.url ?? "/", "http://admin.invalid");
      path = url.pathname;
      const match = this.#router.match(method, path);
      if (match.kind === "none") {
        throw new AdminError(AdminErrorCodes.NOT_FOUND, `no admin API route ${method} ${path}`);
      }
      if (method === "OPTIONS") {
        const methods = match.kind === "found" ? [match.route.method] : match.methods;
        answerPreflight(res, corsAllowed && isPreflight(req), allowList(methods));
        return;
      }
      if (match.kind === "method") {
        const allow = [...allowList(match.methods), "OPTIONS"];
        throw new AdminError(
          AdminErrorCodes.METHOD_NOT_ALLOWED,
          `${method} is not allowed on ${path}; allowed: ${allow.join(", ")}`,
          { headers: { allow: allow.join(", ") } },
        );
      }
      if (write) requireBearer(req.headers.authorization, this.#token);
      const body = write ? await readJsonBody(req) : undefined;
      const reply = await match.route.handler(
        { method, path, query: url.searchParams, params: match.params, body, remote, headers: req.headers },
        this.#context,
      );
      if (reply.stream) {
        sendEventStream(req, res, reply.stream);
        return;
      }
      const status = reply.status ?? 200;
      if (reply.text) sendText(res, status, reply.text, reply.headers);
      else sendJson(res, status, reply.body, reply.headers);
      if (write) this.logger.info({ remote, method, path, status, ...reply.audit }, "admin write");
    } catch (thrown) {
      const { error, expected } = toAdminError(thrown);
      if (!expected) this.logger.error({ err: thrown, remote, method, path }, "admin request failed");
      if (write) {
        const refused = error.status === 401 || error.status === 403;
        this.logger[refused ? "warn" : "info"](
          { remote, method, path, status: error.status, error: error.code },
          refused ? "admin write refused" : "admin write rejected",
        );
      }
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // A body left unread (413) would otherwise be parsed as the next request.
      if (!req.complete) res.shouldKeepAlive = false;
      sendError(res, error);
    }
  }
}

/**
 * Writes a text answer (Prometheus exposition, dashboard files), not cached
 * unless `headers` say otherwise; HEAD and 304 answers get the headers only.
 */
function sendText(
  res: ServerResponse,
  status: number,
  text: { contentType: string; data: string | Buffer },
  headers: Record<string, string> = {},
): void {
  if (status === 304) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const data = typeof text.data === "string" ? Buffer.from(text.data) : text.data;
  res.writeHead(status, {
    "cache-control": "no-store",
    ...headers,
    "content-type": text.contentType,
    "content-length": String(data.length),
  });
  res.end(data);
}

/** The methods a path accepts as an Allow list (HEAD wherever GET is). */
function allowList(methods: readonly string[]): string[] {
  return methods.flatMap((method) => (method === "GET" ? ["GET", "HEAD"] : [method]));
}

/** Each pool's figures for the chart history (none for a balancer without metrics). */
function chartFigures(balancers: ReadonlyMap<string, Balancer>): Record<string, ChartFigures> {
  const figures: Record<string, ChartFigures> = {};
  for (const [name, balancer] of balancers) figures[name] = balancer.metrics?.snapshot() ?? {};
  return figures;
}
