/**
 * Config schemas for agent-driven routing, shared by the config file and the
 * library: a pool's `agents` block (how the poller behaves) and a backend's
 * `agent` (which agent reports on it and which of its entries is the
 * backend). Parsing is idempotent, so the runtime hands parsed values on.
 *
 *   pools:
 *     web:
 *       algorithm: metrics
 *       agents: { pollIntervalMs: 1000, timeoutMs: 500, cacheTtlMs: 2000, fallback: round-robin }
 *       backends:
 *         - address: 10.0.0.1:8080
 *           agent: { url: http://10.0.0.1:8082, match: web-stress }
 */
import { z } from "zod";
import { durationMs } from "../core/duration.js";
import { DEFAULT_REPORT_TTL_MS } from "../load/resource-reports.js";
import { compileMatch } from "./match.js";

export const AGENT_FALLBACKS = ["round-robin", "none"] as const;
export const DEFAULT_AGENT_PATH = "/metrics/containers";

const URL_EXPECTED =
  'expected an agent URL "http://host:port" (path default /metrics/containers) or "host:port"';

/** `http://host:8082`, `http://host:8082/custom/path` or `host:8082` → the URL polled. */
export function agentEndpoint(url: string): string | undefined {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return undefined;
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || parsed.hostname === "")
    return undefined;
  if (parsed.pathname === "/" || parsed.pathname === "") parsed.pathname = DEFAULT_AGENT_PATH;
  return parsed.toString();
}

export const agentTargetSchema = z.strictObject({
  url: z
    .string({ error: URL_EXPECTED })
    .refine((url) => agentEndpoint(url) !== undefined, { error: URL_EXPECTED })
    .describe('the agent: "http://host:port" (path default /metrics/containers) or "host:port"'),
  match: z
    .string()
    .min(1)
    .superRefine((match, ctx) => {
      try {
        compileMatch(match);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: `expected a valid match: ${(error as Error).message}` });
      }
    })
    .optional()
    .describe(
      "entry name, id, id prefix, service name, key=value label or /regex/; absent: every entry of the agent",
    ),
});

export const agentsSchema = z.strictObject({
  pollIntervalMs: durationMs(50, 3_600_000).default(1000).describe("how often every agent is queried"),
  timeoutMs: durationMs(1, 600_000).default(500).describe("how long one query may take"),
  cacheTtlMs: durationMs(1, 86_400_000)
    .default(DEFAULT_REPORT_TTL_MS)
    .describe("stale limit: older figures count as missing"),
  fallback: z
    .enum(AGENT_FALLBACKS, { error: 'expected "round-robin" or "none"' })
    .default("round-robin")
    .describe("with no fresh reports at all: round-robin (counted), or none (missing figures count as 0)"),
});

export type AgentTarget = z.output<typeof agentTargetSchema>;
export type AgentsOptions = z.output<typeof agentsSchema>;
