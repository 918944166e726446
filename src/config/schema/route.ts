/**
 * An HTTP listener's routes: how a request is matched, the header and path
 * edits on the way, and the per-request rules (retryOn, rateLimit) a route may
 * set in place of its listener's.
 */
import { z } from "zod";
import { durationMs } from "../../core/duration.js";
import { numberIn } from "../../core/numbers.js";
import { cidrSchema } from "../../geo/geo-options.js";
import { name } from "./fields.js";

/** HTTP: upstream statuses answered by retrying an idempotent request on the next candidate. */
export const retryOnSchema = z.strictObject({
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
      "the longest silence of the backend before its response head is whole, as timeouts.headersMs; default the listener's timeouts.headersMs",
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
