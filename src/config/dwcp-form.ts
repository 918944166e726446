/**
 * The DWCP geo balancer's `loadbalancer.yaml`, accepted as its users wrote it:
 * a file whose top level is `load_balancer:` becomes one pool and one
 * listener, both `main`, before overrides and validation. Durations keep
 * their Go spelling ("5s", "30m"), which the schema reads. The DWCP file
 * names no servers (they were added with `AddServer`): give them with
 * `--backend`, `SWITCHYARD_BACKENDS` or `WORKER_NODES`. Settings with no
 * counterpart here are accepted and have no effect, as the README's "Coming
 * from DWCP" table says: `virtual_nodes` (affinity is a cookie, not a hash
 * ring), `failover.timeout` (each attempt has the listener's timeouts),
 * `passive_health_check_interval` (outlier detection acts on every
 * response) and `metrics.interval` (metrics are live). Any other key is an
 * error that names it. Other top-level keys (`admin`, `log`, ...) are
 * Switchyard's own and pass through.
 */
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import { isRecord } from "../core/is-record.js";

/** Name of the pool and listener the DWCP form becomes (as with `--backend` alone). */
const NAME = "main";
/** DWCP's health check: `GET /health`, 200 expected. */
const DWCP_HEALTH_PATH = "/health";
/** Algorithms that read a GeoIP database (`geo_routing.database_path`). */
const GEO_ALGORITHMS = new Set(["geo-proximity", "geographical", "same-region", "geo-region"]);

type Section = Record<string, unknown>;

/** Keys of each DWCP section: those translated, and those accepted without effect. */
const KNOWN: Record<string, readonly string[]> = {
  load_balancer: [
    "algorithm",
    "health_check_interval",
    "passive_health_check_interval",
    "unhealthy_threshold",
    "healthy_threshold",
    "connection_timeout",
    "max_connections",
    "drain_timeout",
    "session_affinity",
    "failover",
    "circuit_breaker",
    "geo_routing",
    "metrics",
  ],
  session_affinity: ["enabled", "ttl", "virtual_nodes"],
  failover: ["timeout", "max_retries"],
  circuit_breaker: ["threshold", "timeout"],
  geo_routing: ["enabled", "database_path"],
  metrics: ["interval"],
};

/** Whether `raw` is a DWCP config file (its top level holds `load_balancer`). */
export function isDwcpForm(raw: unknown): raw is Section {
  return isRecord(raw) && "load_balancer" in raw;
}

/** Switchyard's raw config for a DWCP config file; `raw` is not modified. */
export function fromDwcpForm(raw: Section): Section {
  const { load_balancer: section, ...rest } = raw;
  for (const own of ["pools", "listeners"])
    if (own in rest)
      throw dwcpError(
        `"${own}" and "load_balancer" cannot be mixed: write the file in one form or the other`,
      );
  const lb = sectionOf(section, "load_balancer");
  const pool: Section = {};
  const listener: Section = { name: NAME, listen: "127.0.0.1:8080", pool: NAME };

  const affinity = sectionOf(lb.session_affinity, "session_affinity");
  const failover = sectionOf(lb.failover, "failover");
  const breaker = sectionOf(lb.circuit_breaker, "circuit_breaker");
  const geo = sectionOf(lb.geo_routing, "geo_routing");
  sectionOf(lb.metrics, "metrics");

  if (lb.algorithm !== undefined) {
    const database = geo.enabled === true ? geo.database_path : undefined;
    pool.algorithm =
      database !== undefined && typeof lb.algorithm === "string" && GEO_ALGORITHMS.has(lb.algorithm)
        ? { name: lb.algorithm, geo: { database } }
        : lb.algorithm;
  }
  const health = defined({
    intervalMs: lb.health_check_interval,
    fall: lb.unhealthy_threshold,
    rise: lb.healthy_threshold,
  });
  if (Object.keys(health).length > 0) pool.healthCheck = { type: "http", path: DWCP_HEALTH_PATH, ...health };
  if (affinity.enabled === true) pool.affinity = defined({ mode: "cookie", ttlMs: affinity.ttl });
  const circuitBreaker = defined({ errorRate: breaker.threshold, openMs: breaker.timeout });
  if (Object.keys(circuitBreaker).length > 0) pool.circuitBreaker = circuitBreaker;

  if (lb.connection_timeout !== undefined) listener.timeouts = { connectMs: lb.connection_timeout };
  Object.assign(
    listener,
    defined({
      maxConnections: lb.max_connections,
      drainTimeoutMs: lb.drain_timeout,
      maxRetries: failover.max_retries,
    }),
  );
  return { ...rest, listeners: [listener], pools: { [NAME]: pool } };
}

/** A DWCP section as a record, with its keys checked; absent is empty. */
function sectionOf(value: unknown, name: string): Section {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw dwcpError(`"${name}" must be a mapping`);
  const known = KNOWN[name] ?? [];
  for (const key of Object.keys(value))
    if (!known.includes(key))
      throw dwcpError(`"${name}.${key}" is not a DWCP setting; expected one of ${known.join(", ")}`);
  return value;
}

function defined(fields: Section): Section {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function dwcpError(message: string): SwitchyardError {
  return new SwitchyardError(ErrorCodes.CONFIG, `DWCP config (load_balancer): ${message}`);
}
