/** A listener: its socket, pool and routes, timeouts, retries, connection limits, TLS and HTTP/2. */
import { z } from "zod";
import { DEFAULT_MAX_RETRIES } from "../../balancer/attempt-policy.js";
import { MAX_ACCEPT_SOCKETS } from "../../core/accept-sockets.js";
import { durationMs, MAX_TIMER_MS } from "../../core/duration.js";
import { numberIn } from "../../core/numbers.js";
import { PROXY_PROTOCOL_VERSIONS } from "../../proxy/proxy-protocol.js";
import { listenString, name, pemFile } from "./fields.js";
import { rateLimitSchema, retryOnSchema, routeSchema } from "./route.js";

export const PROTOCOLS = ["http", "tcp"] as const;

export const timeoutsSchema = z.strictObject({
  connectMs: durationMs(1, 600_000).optional().describe("connecting to a backend; default 5s"),
  headersMs: durationMs(1, 3_600_000)
    .optional()
    .describe(
      "HTTP: the longest silence of a backend before its response head is whole (each byte it sends restarts it, as NGINX's proxy_read_timeout; time the request body waits on the client does not count); default 30s",
    ),
  idleMs: durationMs(1, 86_400_000)
    .optional()
    .describe(
      "HTTP: longest gap in a response body, a client's upload (408) or a client's reading of its response (reset), and keep-alive idle time, default 60s; TCP: idle connection, default 5m",
    ),
  requestHeadMs: durationMs(1, 3_600_000)
    .optional()
    .describe(
      "HTTP: a client's request head, once begun, must arrive within this long (408 otherwise), as must a TLS handshake; default 60s",
    ),
  upstreamIdleMs: durationMs(1, 3_600_000)
    .optional()
    .describe(
      "HTTP: how long an idle keep-alive connection to a backend is kept, shortened to N s less one by a backend's `Keep-Alive: timeout=N`; default 60s",
    ),
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
  acceptSockets: numberIn(1, MAX_ACCEPT_SOCKETS, { int: true })
    .optional()
    .describe(
      "listening sockets sharing the port (SO_REUSEPORT; Node 22.12+ on Linux, one socket elsewhere and with --workers), each accepting one new connection per event-loop turn; default 8",
    ),
  acceptProxyProtocol: z
    .boolean()
    .optional()
    .describe(
      "every connection opens with a PROXY protocol header (v1 or v2; on a TLS listener, before TLS) from the proxy or load balancer in front, whose client is then routed, rate-limited, logged and forwarded; a connection without a valid one within timeouts.requestHeadMs (HTTP) or connectMs (TCP) is closed. Only for a listener nothing else can reach; default false",
    ),
  sendProxyProtocol: z
    .enum(PROXY_PROTOCOL_VERSIONS)
    .optional()
    .describe(
      "TCP only: open each connection to a backend with a PROXY protocol header of this version (v1 text, v2 binary) naming the client, for backends that take one (NGINX's listen ... proxy_protocol, HAProxy's accept-proxy); default none",
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
    .describe(
      "retries allowed as a share of requests (TCP: connections) over a window, or false for no limit",
    ),
  drainTimeoutMs: durationMs(1, MAX_TIMER_MS)
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
            windowMs: durationMs(1, MAX_TIMER_MS)
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
