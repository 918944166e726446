/** A pool: its algorithm (checked against the registry), backends, discovery, health, TLS to backends. */
import { z } from "zod";
import { affinitySchema } from "../../affinity/affinity.js";
import { agentsSchema, agentTargetSchema } from "../../agent/agent-options.js";
import { algorithmNames, listAlgorithms, resolveAlgorithm } from "../../algorithms/registry.js";
import { BACKEND_PROTOCOLS } from "../../core/backend.js";
import { backendSpecSchema } from "../../core/backend-schema.js";
import { isSwitchyardError } from "../../core/errors.js";
import { discoverySchema } from "../../discovery/discovery-options.js";
import { circuitBreakerSetting } from "../../health/circuit-breaker.js";
import { healthCheckSchema, outlierDetectionSetting, slowStartSchema } from "../../health/health-options.js";
import { closest, issuesFromNested, type PathSegment } from "../errors.js";
import { pemFile } from "./fields.js";
import { objectKeys } from "./keys.js";

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
      "how the proxy, its HTTP health checks and load probes speak HTTP to the backends: http1, or h2 (HTTP/2: ALPN h2 to https:// backends, h2c to http:// ones; needed for gRPC)",
    ),
});
