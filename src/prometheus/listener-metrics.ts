/**
 * The proxy listeners' metric families: retries, retry-budget refusals,
 * requests (and those over HTTP/2), HTTP/2 connections cut off for rapid
 * reset, responses by status class, coded errors and work in flight,
 * requests per route and those its rate limit refused; per
 * backend of an HTTP listener, its connection pool's queue (requests waiting
 * at `maxConnections`), connections open and idle, and bytes sent and read.
 */
import type { BackendUpstreamStats, HttpProxyStats } from "../proxy/proxy-counters.js";
import type { Emit, Labels, MetricFamilies } from "./metric-families.js";

/** One listener's figures, taken at the scrape. */
export interface ListenerScrape {
  listener: string;
  pool: string;
  protocol: string;
  stats: HttpProxyStats | undefined;
  connections: number | undefined;
}

export function defineListenerMetrics(
  families: MetricFamilies,
  scrape: () => readonly ListenerScrape[],
): void {
  const listeners = (read: (listener: ListenerScrape, emit: Emit) => void) => (emit: Emit) => {
    for (const listener of scrape()) read(listener, emit);
  };
  families.counter(
    "retries_total",
    "Requests sent again to the next candidate (HTTP listeners).",
    ["listener", "pool"],
    listeners((listener, emit) => {
      if (listener.stats) emit(listenerLabels(listener), listener.stats.retries);
    }),
  );
  families.counter(
    "retry_budget_exhausted_total",
    "Retries the retry budget refused (HTTP listeners).",
    ["listener", "pool"],
    listeners((listener, emit) => {
      if (listener.stats) emit(listenerLabels(listener), listener.stats.retryBudgetExhausted);
    }),
  );
  families.counter(
    "listener_requests_total",
    "HTTP requests received by listener.",
    ["listener", "pool"],
    listeners((listener, emit) => {
      if (listener.stats) emit(listenerLabels(listener), listener.stats.requests);
    }),
  );
  families.counter(
    "listener_http2_requests_total",
    "HTTP requests received as HTTP/2 streams, by listener (also counted in listener_requests_total).",
    ["listener", "pool"],
    listeners((listener, emit) => {
      if (listener.stats) emit(listenerLabels(listener), listener.stats.http2Requests);
    }),
  );
  families.counter(
    "listener_http2_rapid_reset_closes_total",
    "HTTP/2 client connections closed for resetting too many streams (rapid reset, CVE-2023-44487).",
    ["listener", "pool"],
    listeners((listener, emit) => {
      if (listener.stats) emit(listenerLabels(listener), listener.stats.http2RapidResetCloses);
    }),
  );
  families.counter(
    "listener_responses_total",
    "Responses sent to clients (forwarded or answered by the proxy) by status class.",
    ["listener", "pool", "status_class"],
    listeners((listener, emit) => {
      if (!listener.stats) return;
      for (const [statusClass, count] of Object.entries(listener.stats.statusClasses))
        emit({ ...listenerLabels(listener), status_class: statusClass }, count);
    }),
  );
  families.counter(
    "listener_errors_total",
    "Requests the proxy answered (or cut) with a coded error, by SY_ERR_* code.",
    ["listener", "pool", "code"],
    listeners((listener, emit) => {
      for (const [code, count] of Object.entries(listener.stats?.errors ?? {}))
        emit({ ...listenerLabels(listener), code }, count);
    }),
  );
  families.gauge(
    "listener_in_flight",
    "Requests being proxied plus tunnels open, by listener (TCP: client connections open).",
    ["listener", "pool", "protocol"],
    listeners((listener, emit) => {
      const open = listener.stats?.inFlight ?? listener.connections;
      if (open !== undefined) emit({ ...listenerLabels(listener), protocol: listener.protocol }, open);
    }),
  );
  const backends = (field: keyof Omit<BackendUpstreamStats, "id" | "pool">) =>
    listeners((listener, emit) => {
      for (const backend of listener.stats?.backends ?? [])
        emit(
          { listener: listener.listener, pool: backend.pool ?? listener.pool, backend: backend.id },
          backend[field],
        );
    });
  families.counter(
    "route_requests_total",
    "HTTP requests each route of a listener took (the default route is named default).",
    ["listener", "route", "pool"],
    listeners((listener, emit) => {
      for (const route of listener.stats?.routes ?? [])
        emit(
          {
            listener: listener.listener,
            route: route.name,
            pool: route.pool ?? (route.name === "default" ? listener.pool : ""),
          },
          route.requests,
        );
    }),
  );
  families.counter(
    "rate_limited_total",
    "Requests refused with 429 by the rate limit of a route of an HTTP listener (per instance).",
    ["listener", "route"],
    listeners((listener, emit) => {
      for (const route of listener.stats?.routes ?? [])
        emit({ listener: listener.listener, route: route.name }, route.rateLimited);
    }),
  );
  families.gauge(
    "backend_queue_length",
    "Requests waiting for a connection to the backend (all maxConnections busy), by HTTP listener.",
    ["listener", "pool", "backend"],
    backends("queued"),
  );
  families.gauge(
    "backend_connections_open",
    "Connections open to the backend (connecting, busy or idle), by HTTP listener.",
    ["listener", "pool", "backend"],
    backends("openConnections"),
  );
  families.gauge(
    "backend_connections_idle",
    "Open connections to the backend waiting for a request, by HTTP listener.",
    ["listener", "pool", "backend"],
    backends("idleConnections"),
  );
  families.counter(
    "request_bytes_total",
    "Bytes sent to the backend, request heads and bodies as on the wire (retries and hedges included), by HTTP listener.",
    ["listener", "pool", "backend"],
    backends("requestBytes"),
  );
  families.counter(
    "response_bytes_total",
    "Bytes read from the backend, response heads and bodies as on the wire, by HTTP listener.",
    ["listener", "pool", "backend"],
    backends("responseBytes"),
  );
}

function listenerLabels(listener: ListenerScrape): Labels {
  return { listener: listener.listener, pool: listener.pool };
}
