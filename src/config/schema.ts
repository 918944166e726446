/**
 * The configuration schema: one zod schema for files, environment overrides and
 * CLI flags alike. Objects are strict, so a typo is an error rather than a
 * silently ignored key; defaults are filled here so the runtime reads one fully
 * resolved shape. Field checks (addresses, listen strings, algorithm options)
 * sit on the field itself so their issues carry the field's path; checks that
 * span fields (pool references, unique names and ids) run in one refinement at
 * the root, also when other fields are already invalid, so one run reports
 * every problem.
 */
import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import { affinitySchema } from "../affinity/affinity.js";
import { agentsSchema, agentTargetSchema } from "../agent/agent-options.js";
import { algorithmNames, listAlgorithms, resolveAlgorithm } from "../algorithms/registry.js";
import { BACKEND_PROTOCOLS } from "../core/backend.js";
import { backendSpecSchema } from "../core/backend-schema.js";
import { durationMs } from "../core/duration.js";
import { isSwitchyardError } from "../core/errors.js";
import { numberIn } from "../core/numbers.js";
import { discoverySchema } from "../discovery/discovery-options.js";
import { cidrSchema } from "../geo/geo-options.js";
import { circuitBreakerSetting } from "../health/circuit-breaker.js";
import { healthCheckSchema, outlierDetectionSetting, slowStartSchema } from "../health/health-options.js";
import { LOG_FORMATS } from "../observability/log-format.js";
import { configStoreSchema } from "./config-store-schema.js";
import { closest, issuesFromNested, type PathSegment } from "./errors.js";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export const PROTOCOLS = ["http", "tcp"] as const;

export const DEFAULT_ADMIN_LISTEN = "127.0.0.1:9090";
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;

/** A listening address: `host:port` or `[v6]:port`, port 0 to 65535 (0 lets the OS choose). */
export interface ListenAddress {
  host: string;
  port: number;
}

const LISTEN_PATTERN = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9][A-Za-z0-9.-]*)):(\d{1,5})$/;

/** Parses a listen string; returns undefined when it is not `host:port` with a port from 0 to 65535. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const match = LISTEN_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  return { host: (match[1] ?? match[2]) as string, port };
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const NAME_EXPECTED = "a name of letters, digits, '.', '_' or '-' (starting with a letter or digit)";

const name = () =>
  z.string({ error: `expected ${NAME_EXPECTED}` }).regex(NAME_PATTERN, `expected ${NAME_EXPECTED}`);

const listenString = () =>
  z.string({ error: 'expected a listen address "host:port"' }).superRefine((value, ctx) => {
    if (!parseListenAddress(value)) {
      ctx.addIssue({
        code: "custom",
        message: 'expected a listen address "host:port" (or "[v6]:port") with a port from 0 to 65535',
      });
    }
  });

/** `"p2c"` or `{ name: "p2c", ...options }`; checked against the algorithm registry. */
export const algorithmSchema = z
  .union(
    [z.string().min(1), z.looseObject({ name: z.string().min(1).describe("the algorithm's name or alias") })],
    {
      error: 'expected an algorithm name, or an object { name: "...", ...options }',
    },
  )
  .superRefine((spec, ctx) => {
    try {
      resolveAlgorithm(spec);
    } catch (error) {
      if (isSwitchyardError(error, "SY_ERR_UNKNOWN_ALGORITHM")) {
        const given = typeof spec === "string" ? spec : spec.name;
        const suggestion = closest(given, algorithmNames());
        ctx.addIssue({
          code: "custom",
          path: typeof spec === "string" ? [] : ["name"],
          message: `expected a registered algorithm (aliases accepted; see \`switchyard algorithms\`): ${listAlgorithms()
            .map((definition) => definition.name)
            .join(", ")}`,
          params: suggestion ? { suggestion } : undefined,
        });
      } else if (isSwitchyardError(error, "SY_ERR_INVALID_OPTIONS")) {
        const nested = (error.details?.issues ?? []) as z.core.$ZodIssue[];
        const algorithm = String(error.details?.name ?? "");
        const options = typeof spec === "string" ? {} : spec;
        const reported = issuesFromNested(nested, options, algorithmOptionKeys(algorithm));
        for (const issue of reported) ctx.addIssue({ code: "custom", ...issue });
        if (reported.length === 0) ctx.addIssue({ code: "custom", message: error.message });
      } else {
        throw error;
      }
    }
  });

function algorithmOptionKeys(algorithm: string): (path: readonly PathSegment[]) => string[] | undefined {
  return (path) => {
    if (path.length !== 0) return undefined;
    try {
      const { definition } = resolveAlgorithm(algorithm);
      return ["name", ...objectKeys(definition.options)];
    } catch {
      return undefined;
    }
  };
}

const pemFile = (what: string) => z.string({ error: `expected the path of a PEM ${what} file` }).min(1);

export const backendSchema = backendSpecSchema.extend({
  agent: agentTargetSchema
    .optional()
    .describe("the monitoring agent reporting this backend's CPU, memory and network (SwarmGuard)"),
});

export const poolSchema = z.strictObject({
  algorithm: algorithmSchema
    .default("round-robin")
    .describe("the algorithm: a name, or an object with its name and options (see Algorithm options)"),
  backends: z
    .array(backendSchema)
    .default([])
    .describe("the pool's static backends: at least one, unless discovery finds them"),
  discovery: discoverySchema
    .optional()
    .describe(
      "backends found in DNS (A/AAAA or SRV records, followed on their TTL) or a JSON file (followed as it is edited), beside the static ones",
    ),
  healthCheck: healthCheckSchema.optional().describe("active health checks; none when absent"),
  outlierDetection: outlierDetectionSetting
    .optional()
    .describe("passive outlier detection: on with defaults when absent, false turns it off"),
  circuitBreaker: circuitBreakerSetting
    .optional()
    .describe("per-backend circuit breaker: on with defaults when absent, false turns it off"),
  slowStart: slowStartSchema.optional().describe("weight ramp for added or recovered backends"),
  panic: z
    .boolean()
    .default(false)
    .describe("with no ready backend, route to enabled, non-draining ones anyway instead of answering 503"),
  agents: agentsSchema
    .optional()
    .describe("agent polling for the metrics-driven algorithms; defaults apply when a backend has an agent"),
  affinity: affinitySchema
    .optional()
    .describe("session affinity (cookie, client IP or header); off when absent"),
  backendTls: z
    .strictObject({
      ca: pemFile("CA bundle")
        .optional()
        .describe("PEM file of the CAs that sign the backends' certificates (replaces the system roots)"),
      serverName: z
        .string()
        .min(1)
        .optional()
        .describe("name sent in SNI and required in the backends' certificates; default each backend's host"),
      cert: pemFile("certificate")
        .optional()
        .describe("client certificate (PEM) for backends that require one (mTLS); needs key"),
      key: pemFile("private key").optional().describe("the client certificate's PEM private key"),
      insecureSkipVerify: z
        .boolean()
        .default(false)
        .describe("accept any backend certificate (no chain or name check); logged as a warning at start"),
      minVersion: z
        .enum(["TLSv1.2", "TLSv1.3"])
        .default("TLSv1.2")
        .describe("the lowest TLS version spoken to backends"),
    })
    .refine((settings) => (settings.cert === undefined) === (settings.key === undefined), {
      error: "expected cert and key together (a client certificate needs its private key)",
    })
    .optional()
    .describe(
      "how the proxy and health checks speak TLS to this pool's https:// backends; system roots and full verification when absent",
    ),
  backendProtocol: z
    .enum(BACKEND_PROTOCOLS)
    .default("http1")
    .describe(
      "how the proxy speaks HTTP to the backends: http1, or h2 (HTTP/2: ALPN h2 to https:// backends, h2c to http:// ones; needed for gRPC)",
    ),
});

export const timeoutsSchema = z.strictObject({
  connectMs: durationMs(1, 600_000).optional().describe("connecting to a backend; default 5s"),
  headersMs: durationMs(1, 3_600_000)
    .optional()
    .describe("HTTP: waiting for a backend's response headers; default 30s"),
  idleMs: durationMs(1, 86_400_000)
    .optional()
    .describe(
      "HTTP: longest gap in a response body or a client's upload (408), and keep-alive idle time, default 60s; TCP: idle connection, default 5m",
    ),
  requestHeadMs: durationMs(1, 3_600_000)
    .optional()
    .describe(
      "HTTP: a client's request head, once begun, must arrive within this long (408 otherwise), as must a TLS handshake; default 60s",
    ),
});

/** HTTP: upstream statuses answered by retrying an idempotent request on the next candidate. */
const retryOnSchema = z.strictObject({
  statuses: z
    .array(numberIn(400, 599, { int: true }))
    .min(1)
    .describe("the statuses (400 to 599) that are retried"),
});

const HEADER_NAME_EXPECTED = "expected a header name (letters, digits and !#$%&'*+.^_`|~-)";
const headerName = () =>
  z.string({ error: HEADER_NAME_EXPECTED }).regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, HEADER_NAME_EXPECTED);
/** No CR, LF or NUL: a configured value must not be able to start a new header line. */
const headerValue = () =>
  z.string().regex(/^[^\r\n\0]*$/, "expected a header value without line breaks or NUL");
const PATH_EXPECTED = 'expected a path starting with "/", without spaces';
const urlPath = () => z.string({ error: PATH_EXPECTED }).regex(/^\/[^\s]*$/, PATH_EXPECTED);
const HOST_PATTERN_EXPECTED = 'expected a host name, or "*.example.com" for any name under example.com';
const hostPattern = () =>
  z
    .string({ error: HOST_PATTERN_EXPECTED })
    .regex(/^(?:\*\.)?[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/, HOST_PATTERN_EXPECTED);

export const routeMatchSchema = z
  .strictObject({
    host: z
      .union([hostPattern(), z.array(hostPattern()).min(1)])
      .optional()
      .describe('the Host (port ignored, case-insensitive): a name, "*.example.com", or a list of them'),
    path: urlPath().optional().describe("the path exactly (the query is not part of it)"),
    pathPrefix: urlPath()
      .optional()
      .describe('the path starts with this at a segment boundary ("/api" matches "/api/x", not "/apix")'),
    pathRegex: z
      .string()
      .min(1)
      .superRefine((source, ctx) => {
        try {
          new RegExp(source);
        } catch (error) {
          ctx.addIssue({
            code: "custom",
            message: `expected a regular expression (${(error as Error).message})`,
          });
        }
      })
      .optional()
      .describe("a JavaScript regular expression the whole path must match"),
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, "expected an upper-case method name such as GET"))
      .min(1)
      .optional()
      .describe("request methods, upper case"),
    headers: z.record(headerName(), z.string()).optional().describe("header name → exact value"),
    query: z.record(z.string().min(1), z.string()).optional().describe("query parameter → exact value"),
  })
  .refine(
    (match) =>
      [match.path, match.pathPrefix, match.pathRegex].filter((value) => value !== undefined).length <= 1,
    { error: "expected at most one of path, pathPrefix and pathRegex" },
  );

const headerEditsSchema = z.strictObject({
  set: z
    .record(headerName(), headerValue())
    .optional()
    .describe("fields set to these values (replacing any the message had)"),
  remove: z.array(headerName()).optional().describe("fields removed"),
});

const WHOLE_SECONDS = 'expected whole seconds from 1s to 1h, such as "1s", "10s" or "1m"';

/** HTTP: a token bucket per client (or header value, or route); see proxy/rate-limit/. */
export const rateLimitSchema = z.strictObject({
  rate: numberIn(1, 1_000_000_000, { int: true }).describe("requests admitted per periodMs, sustained"),
  periodMs: durationMs(1_000, 3_600_000)
    .refine((ms) => ms % 1_000 === 0, { error: WHOLE_SECONDS })
    .optional()
    .describe("the period rate is counted over, in whole seconds; default 1s"),
  burst: numberIn(1, 1_000_000_000, { int: true })
    .optional()
    .describe("requests admitted at once (the bucket's size); default rate"),
  key: z
    .union(
      [
        z.enum(["client-ip", "route"]),
        z.strictObject({
          header: headerName().describe("the request header whose value is counted (e.g. x-api-key)"),
        }),
      ],
      { error: 'expected "client-ip", "route" or { header: "<name>" }' },
    )
    .default("client-ip")
    .describe(
      'what is counted: "client-ip" (the client\'s address), "route" (one bucket per route), or { header } (requests without it count by client address)',
    ),
  trustedProxies: z
    .array(cidrSchema)
    .optional()
    .describe("peers (IPs or CIDR blocks) whose X-Forwarded-For names the client, for the client-ip key"),
  maxKeys: numberIn(1, 10_000_000, { int: true })
    .default(100_000)
    .describe("buckets kept at most (the least recently used is dropped beyond it)"),
  headers: z
    .boolean()
    .default(false)
    .describe("also send RateLimit-Policy and RateLimit on admitted responses (429s always carry them)"),
});

export const routeSchema = z.strictObject({
  name: name().describe('unique within the listener; "default" names the listener\'s own pool'),
  match: routeMatchSchema.optional().describe("conditions that must all hold; absent: every request"),
  pool: z
    .string({ error: "expected the name of a pool defined under pools" })
    .optional()
    .describe("the pool that serves the route; exactly one of pool and redirect"),
  redirect: z
    .strictObject({
      scheme: z.enum(["http", "https"]).optional().describe("the scheme redirected to"),
      host: hostPattern().optional().describe("the host redirected to"),
      port: numberIn(1, 65535, { int: true }).optional().describe("the port redirected to"),
      path: urlPath().optional().describe("replaces the path; the query is kept"),
      status: z
        .union([z.literal(301), z.literal(302), z.literal(303), z.literal(307), z.literal(308)])
        .default(302)
        .describe("the redirect status"),
    })
    .optional()
    .describe("answer with a redirect instead of proxying (the parts not given are kept from the request)"),
  stripPrefix: urlPath()
    .optional()
    .describe("removed from the front of the path before it goes to the backend"),
  addPrefix: urlPath().optional().describe("put in front of the path (after stripPrefix)"),
  requestHeaders: headerEditsSchema.optional().describe("edits to the request sent to the backend"),
  responseHeaders: headerEditsSchema.optional().describe("edits to the response sent to the client"),
  timeoutMs: durationMs(1, 3_600_000)
    .optional()
    .describe(
      "how long the backend may take to send its response head; default the listener's timeouts.headersMs",
    ),
  maxRetries: numberIn(0, 10, { int: true })
    .optional()
    .describe("replaces the listener's maxRetries for this route"),
  retryOn: retryOnSchema.optional().describe("replaces the listener's retryOn for this route"),
  rateLimit: z
    .union([z.literal(false), rateLimitSchema], {
      error: "expected false, or an object { rate, periodMs, burst, key, trustedProxies, maxKeys, headers }",
    })
    .optional()
    .describe("replaces the listener's rateLimit for this route; false: no rate limit on this route"),
});

export const listenerSchema = z.strictObject({
  name: name().describe("unique listener name (letters, digits, '.', '_', '-')"),
  protocol: z
    .enum(PROTOCOLS)
    .default("http")
    .describe("http (HTTP/1.1 with WebSocket upgrades) or tcp (raw TCP passed through)"),
  listen: listenString().describe('"host:port" or "[v6]:port" to listen on; port 0 lets the OS choose'),
  pool: z
    .string({ error: "expected the name of a pool defined under pools" })
    .optional()
    .describe(
      "the pool, by its name under pools, that serves the requests no route takes; without it (an http listener with routes) they get 404 SY_ERR_NO_ROUTE",
    ),
  routes: z
    .array(routeSchema)
    .optional()
    .describe(
      "HTTP only: tried in order before the listener's pool; the first whose match holds takes the request",
    ),
  timeouts: timeoutsSchema.optional().describe("the listener's timeouts, each with its own default"),
  maxRetries: numberIn(0, 10, { int: true })
    .default(DEFAULT_MAX_RETRIES)
    .describe("further backends one request may try after a failed attempt"),
  retryOn: retryOnSchema
    .optional()
    .describe(
      "HTTP only: upstream statuses answered by retrying an idempotent request on the next candidate",
    ),
  retryBufferBytes: numberIn(0, 67_108_864, { int: true, unit: "(bytes)" })
    .optional()
    .describe("HTTP only: request bodies up to this size are kept so a retry can resend them; default 65536"),
  maxConnections: numberIn(0, 1_000_000, { int: true })
    .optional()
    .describe(
      "HTTP only: connections open at once to each backend (0, the default: no limit); more requests wait in a queue",
    ),
  queueTimeoutMs: durationMs(1, 600_000)
    .optional()
    .describe(
      "HTTP only: how long a request waits for a connection at maxConnections (then 503); default 5s",
    ),
  maxRequestsPerConnection: numberIn(0, 100_000_000, { int: true })
    .optional()
    .describe(
      "HTTP only: requests one upstream connection carries before it is closed (0, the default: no limit)",
    ),
  retryBudget: z
    .union([
      z.literal(false),
      z.strictObject({
        ratio: numberIn(0, 10).optional().describe("retries allowed per request in the window; default 0.2"),
        windowMs: durationMs(100, 3_600_000).optional().describe("the window; default 10s"),
        minRetriesPerSecond: numberIn(0, 1_000_000)
          .optional()
          .describe("retries allowed per second however few the requests; default 3"),
      }),
    ])
    .optional()
    .describe("HTTP only: retries allowed as a share of requests over a window, or false for no limit"),
  drainTimeoutMs: durationMs(1, 2_147_483_647)
    .optional()
    .describe("WebSocket and TCP tunnels to a draining backend are closed after this long; default 30s"),
  tls: z
    .strictObject({
      certificates: z
        .array(
          z.strictObject({
            cert: pemFile("certificate").describe("path of a PEM certificate file (with its chain)"),
            key: pemFile("private key").describe("path of the certificate's PEM private key file"),
          }),
        )
        .min(1)
        .describe("certificate and key files, picked by SNI; the first is the default"),
      minVersion: z
        .enum(["TLSv1.2", "TLSv1.3"])
        .default("TLSv1.2")
        .describe("the lowest TLS version accepted"),
    })
    .optional()
    .describe("HTTP only: terminate TLS with these certificates"),
  http2: z
    .union([
      z.literal(false),
      z.strictObject({
        maxConcurrentStreams: numberIn(1, 2_147_483_647, { int: true })
          .optional()
          .describe("Streams one client connection may have open at once; default 100."),
        maxHeaderListSize: numberIn(1024, 2_147_483_647, { int: true, unit: "(bytes)" })
          .optional()
          .describe(
            "Largest request header list (name + value + 32 bytes per field); default 16384, the HTTP/1.1 head limit.",
          ),
        initialWindowSize: numberIn(0, 2_147_483_647, { int: true, unit: "(bytes)" })
          .optional()
          .describe("Flow-control window of each stream a client uploads on; default 65535."),
        rapidReset: z
          .strictObject({
            maxResets: numberIn(1, 1_000_000, { int: true })
              .optional()
              .describe(
                "Streams a client may reset within windowMs; one more closes its connection; default 200.",
              ),
            windowMs: durationMs(1, 2_147_483_647)
              .optional()
              .describe("The sliding window the resets are counted over; default 10000."),
          })
          .optional()
          .describe(
            "Rapid-reset protection (CVE-2023-44487): GOAWAY and close for a client resetting streams in a loop.",
          ),
      }),
    ])
    .optional()
    .describe(
      "HTTP only: HTTP/2 from clients (ALPN h2 on a TLS listener, on by default; h2c on a plain one): its limits, or false for HTTP/1.1 only.",
    ),
  h2c: z
    .boolean()
    .optional()
    .describe(
      "HTTP only, plain listeners: a connection opening with the HTTP/2 preface speaks HTTP/2 (prior knowledge); default false.",
    ),
  rateLimit: rateLimitSchema
    .optional()
    .describe(
      "HTTP only: 429 with Retry-After once a client (or header value, or route) exceeds this rate; routes inherit it; per instance",
    ),
  redirectToHttps: z
    .union([
      z.literal(true),
      z.strictObject({ port: numberIn(1, 65535, { int: true }).describe("the https port redirected to") }),
    ])
    .optional()
    .describe("HTTP only: answer every request with a 308 to the same URL on https (port 443 unless given)"),
});

const ALLOWED_HOST_EXPECTED = 'expected a host name (letters, digits, ".", "-", "_"), an IP address or "*"';

export const adminSchema = z.strictObject({
  listen: listenString().default(DEFAULT_ADMIN_LISTEN).describe('"host:port" the admin API listens on'),
  token: z
    .string()
    .min(1)
    .optional()
    .describe("bearer token that admin writes need; without one, writes are refused"),
  allowedHosts: z
    .array(
      z
        .string({ error: ALLOWED_HOST_EXPECTED })
        .regex(/^(?:\*|[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])$/, { error: ALLOWED_HOST_EXPECTED }),
    )
    .optional()
    .describe(
      'host names the admin API answers besides localhost, IP addresses and its listen host (DNS rebinding guard); "*": any',
    ),
  cors: z
    .strictObject({
      origins: z
        .array(z.string().min(1))
        .min(1)
        .describe('origins allowed ("https://ops.example.com"), or "*" for any'),
    })
    .optional()
    .describe("CORS: browser pages on these origins may call the admin API"),
});

export const logSchema = z.strictObject({
  level: z
    .enum(LOG_LEVELS)
    .default("info")
    .describe("log level; debug also logs every routing decision, failover, retry and agent poll"),
  format: z
    .enum(LOG_FORMATS)
    .default("auto")
    .describe(
      "json (one JSON object per line), pretty (readable text) or auto: pretty on a terminal, JSON otherwise",
    ),
  access: z
    .strictObject({
      enabled: z.boolean().default(true).describe("false turns the access log off"),
      sample: numberIn(1, 1_000_000, { int: true }).default(1).describe("log every sample-th request"),
    })
    .optional()
    .describe("the access log: one JSON line per sampled request; off when absent"),
  decisions: z
    .strictObject({
      sample: numberIn(0, 1_000_000, { int: true })
        .default(1)
        .describe("keep every sample-th decision (0: none)"),
      capacity: numberIn(1, 10_000, { int: true }).default(100).describe("decisions kept per pool"),
    })
    .optional()
    .describe("recent routing decisions kept per pool for /api/explain"),
});

export const configSchema = z
  .strictObject({
    listeners: z
      .array(listenerSchema)
      .min(1)
      .describe("the listening sockets (at least one), each proxying to one pool"),
    pools: z.record(name(), poolSchema).describe("the backend pools, by name"),
    admin: adminSchema.optional().describe("the admin API and dashboard; not started when absent"),
    configStore: configStoreSchema
      .optional()
      .describe("where the pools live: this file when absent, or etcd shared by several instances"),
    log: logSchema.prefault({}).describe("logging"),
    shutdownGraceMs: durationMs(0, 3_600_000)
      .default(DEFAULT_SHUTDOWN_GRACE_MS)
      .describe("time in-flight work gets to finish on SIGINT/SIGTERM"),
  })
  .superRefine(crossCheck, { when: () => true });

export type SwitchyardConfig = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type ListenerConfig = z.output<typeof listenerSchema>;
export type PoolConfig = z.output<typeof poolSchema>;
export type BackendConfig = z.output<typeof backendSchema>;

/**
 * Checks that span fields. Runs even when fields are invalid, so every access
 * is defensive: the value may be partly parsed.
 */
function crossCheck(config: unknown, ctx: z.core.$RefinementCtx): void {
  if (!isRecord(config)) return;
  const pools = isRecord(config.pools) ? config.pools : {};
  const poolNames = Object.keys(pools);

  if (Array.isArray(config.listeners)) {
    const names = new Map<string, number>();
    const addresses = new Map<string, number>();
    config.listeners.forEach((listener: unknown, index) => {
      if (!isRecord(listener)) return;
      if (typeof listener.name === "string") {
        const first = names.get(listener.name);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["listeners", index, "name"],
            message: `expected a unique listener name; "${listener.name}" is also used by listeners[${first}]`,
          });
        } else names.set(listener.name, index);
      }
      const knownPool = (pool: unknown, path: PathSegment[]) => {
        if (typeof pool !== "string" || !isRecord(config.pools) || pool in pools) return;
        const suggestion = closest(pool, poolNames);
        ctx.addIssue({
          code: "custom",
          path,
          message:
            poolNames.length === 0
              ? "expected the name of a pool defined under pools (none are defined)"
              : `expected the name of a pool defined under pools: ${poolNames.join(", ")}`,
          params: suggestion ? { suggestion } : undefined,
        });
      };
      knownPool(listener.pool, ["listeners", index, "pool"]);
      const routed = Array.isArray(listener.routes) && listener.routes.length > 0;
      if (listener.pool === undefined && (!routed || listener.protocol === "tcp")) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "pool"],
          message:
            "expected a pool: only an http listener with routes may go without one (its unmatched requests get 404)",
        });
      }
      if (Array.isArray(listener.routes)) {
        if (listener.protocol === "tcp") {
          ctx.addIssue({
            code: "custom",
            path: ["listeners", index, "routes"],
            message: "expected no routes on a tcp listener (TCP is passed through to its pool)",
          });
        }
        listener.routes.forEach((route: unknown, at) => {
          if (isRecord(route)) knownPool(route.pool, ["listeners", index, "routes", at, "pool"]);
        });
        checkRoutes(listener.routes, ["listeners", index, "routes"], ctx);
      }
      if (listener.tls !== undefined && listener.redirectToHttps !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "redirectToHttps"],
          message: "expected redirectToHttps on a plain listener, not on one that already terminates TLS",
        });
      }
      if (listener.rateLimit !== undefined && listener.protocol === "tcp") {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "rateLimit"],
          message: "expected no rateLimit on a tcp listener (rate limits count HTTP requests)",
        });
      }
      if (listener.h2c === true && (listener.tls !== undefined || listener.http2 === false)) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "h2c"],
          message:
            listener.http2 === false
              ? "expected no h2c on a listener with http2: false"
              : "expected h2c on a plain listener (a TLS listener offers HTTP/2 by ALPN)",
        });
      }
      if (listener.protocol === "tcp" && (listener.http2 !== undefined || listener.h2c !== undefined)) {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, listener.http2 !== undefined ? "http2" : "h2c"],
          message: "expected no http2 or h2c on a tcp listener (TCP is passed through as it is)",
        });
      }
      if (listener.tls !== undefined && listener.protocol === "tcp") {
        ctx.addIssue({
          code: "custom",
          path: ["listeners", index, "tls"],
          message:
            "expected no tls on a tcp listener (TCP is passed through; TLS is terminated on http listeners)",
        });
      }
      const pool = typeof listener.pool === "string" ? pools[listener.pool] : undefined;
      if (listener.protocol === "tcp" && isRecord(pool) && Array.isArray(pool.backends)) {
        const tlsBackend = pool.backends.findIndex(
          (backend: unknown) =>
            isRecord(backend) &&
            typeof backend.address === "string" &&
            /^https:/i.test(backend.address.trim()),
        );
        if (tlsBackend >= 0) {
          ctx.addIssue({
            code: "custom",
            path: ["pools", listener.pool as string, "backends", tlsBackend, "address"],
            message: `expected host:port for a pool behind tcp listener "${String(listener.name)}" (TCP is passed through as it is; https:// backends are for http listeners)`,
          });
        }
      }
      const listen = typeof listener.listen === "string" ? parseListenAddress(listener.listen) : undefined;
      if (listen && listen.port !== 0) {
        const key = `${listen.host}:${listen.port}`;
        const first = addresses.get(key);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["listeners", index, "listen"],
            message: `expected an address no other listener uses; listeners[${first}] already listens on it`,
          });
        } else addresses.set(key, index);
      }
    });
  }

  for (const [poolName, pool] of Object.entries(pools)) {
    if (!isRecord(pool)) continue;
    if ((pool.backends === undefined || isEmptyArray(pool.backends)) && pool.discovery === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["pools", poolName, "backends"],
        message: "expected at least one backend, or a discovery source (dns or file) to find them",
      });
    }
    if (!Array.isArray(pool.backends)) continue;
    const ids = new Map<string, number>();
    pool.backends.forEach((backend: unknown, index) => {
      if (!isRecord(backend)) return;
      const explicit = typeof backend.id === "string";
      const id = explicit ? backend.id : backend.address;
      if (typeof id !== "string") return;
      const first = ids.get(id);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["pools", poolName, "backends", index, explicit ? "id" : "address"],
          message: explicit
            ? `expected a backend id unique within pool "${poolName}"; backends[${first}] already has it`
            : `expected each backend once per pool; backends[${first}] has the same address (give distinct ids to repeat an address)`,
        });
      } else ids.set(id, index);
    });
  }
}

/**
 * A route's own rules: a pool or a redirect (one of them; a redirect has no
 * rate limit), a name unique in its listener and not "default", and reachable: no earlier route takes
 * every request, or exactly the requests it matches.
 */
function checkRoutes(routes: unknown[], at: PathSegment[], ctx: z.core.$RefinementCtx): void {
  const names = new Map<string, number>();
  let catchAll: number | undefined;
  routes.forEach((route, index) => {
    if (!isRecord(route)) return;
    const issue = (field: string | undefined, message: string) =>
      ctx.addIssue({
        code: "custom",
        path: field === undefined ? [...at, index] : [...at, index, field],
        message,
      });
    if ((route.pool === undefined) === (route.redirect === undefined)) {
      issue(undefined, "expected a route with either a pool or a redirect");
    }
    if (route.redirect !== undefined && isRecord(route.rateLimit)) {
      issue(
        "rateLimit",
        `expected no rateLimit on redirect route "${String(route.name)}" (redirects are answered without a backend and are not limited)`,
      );
    }
    if (typeof route.name === "string") {
      const first = names.get(route.name);
      if (route.name === "default")
        issue("name", 'expected a route name other than "default" (it names the listener\'s own pool)');
      else if (first !== undefined)
        issue("name", `expected a unique route name; "${route.name}" is also routes[${first}]`);
      else names.set(route.name, index);
    }
    if (catchAll !== undefined) {
      issue(
        undefined,
        `expected a reachable route, but routes[${catchAll}] has no match and takes every request`,
      );
      return;
    }
    const earlier = routes
      .slice(0, index)
      .findIndex((other) => isRecord(other) && isDeepStrictEqual(other.match, route.match));
    if (earlier >= 0)
      issue("match", `expected a reachable route, but routes[${earlier}] matches the same requests`);
    if (route.match === undefined || (isRecord(route.match) && Object.keys(route.match).length === 0))
      catchAll = index;
  });
}

function isEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length === 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Keys of an object schema, looking through optional/default/pipe wrappers; empty if not an object. */
export function objectKeys(schema: unknown): string[] {
  const shape = objectShape(schema);
  return shape ? Object.keys(shape) : [];
}

interface SchemaDef {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
  options?: unknown[];
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  for (let depth = 0; depth < 16; depth++) {
    const def = defOf(current);
    if (!def) return current;
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === "pipe") current = def.in;
    else return current;
  }
  return current;
}

function objectShape(schema: unknown): Record<string, unknown> | undefined {
  const def = defOf(unwrap(schema));
  if (def?.type === "union") {
    // `false | { ... }` and the like: the keys of the first object form.
    for (const option of def.options ?? []) {
      const shape = objectShape(option);
      if (shape) return shape;
    }
  }
  return def?.type === "object" ? def.shape : undefined;
}

/**
 * Known keys of the object at `path` in the config schema, for "did you mean"
 * suggestions; undefined when the path does not lead to a fixed-shape object.
 */
export function configKeysAt(
  path: readonly PathSegment[],
  schema: unknown = configSchema,
): string[] | undefined {
  let current: unknown = schema;
  for (const segment of path) {
    const def = defOf(unwrap(current));
    if (!def) return undefined;
    if (def.type === "object" && typeof segment === "string") current = def.shape?.[segment];
    else if (def.type === "array" && typeof segment === "number") current = def.element;
    else if (def.type === "record") current = def.valueType;
    else return undefined;
    if (current === undefined) return undefined;
  }
  const shape = objectShape(current);
  return shape ? Object.keys(shape) : undefined;
}
