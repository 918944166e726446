/**
 * The load probe (Prequal, Wydrowski et al., NSDI 2024): a balancer asks a
 * backend, off the request path, how many requests it has in flight (RIF) and
 * how long it expects a new one to take; the backend answers
 * `GET /prequal-probe` with `{"rif": n, "latencyMs": x}`. This file is the
 * contract both sides share: the reply, how to read it, and the transport a
 * balancer sends probes through (HTTP in the proxy, simulated events in the
 * lab, a table in tests).
 */
import type { Backend } from "./backend.js";

export const DEFAULT_PROBE_PATH = "/prequal-probe";

export interface ProbeReply {
  /** Requests the backend has received and not yet answered, from every client. */
  rif: number;
  /** The backend's estimate of a new request's latency, ms; 0 when it has no recent latency to go by. */
  latencyMs: number;
}

export interface ProbeRequest {
  path: string;
  timeoutMs: number;
}

/**
 * A probe that brought no reply: `unanswered` when the backend could not be
 * reached in time (it may answer the next one), `unsupported` when it
 * answered something that is not a probe reply (it has no probe endpoint).
 */
export type ProbeMiss = "unanswered" | "unsupported";

/**
 * Sends probes. `probe` returns at once and calls `done` exactly once, later
 * or synchronously, with the reply or the kind of miss.
 */
export interface ProbeTransport {
  probe(backend: Backend, request: ProbeRequest, done: (reply: ProbeReply | ProbeMiss) => void): void;
  /**
   * Probes it carries to one backend at a time; a balancer sends no more
   * (one more would wait in the transport's queue and arrive stale, or time
   * out). Default unlimited.
   */
  readonly maxInFlight?: number;
  /** Releases connections kept for probing. */
  close?(): Promise<void>;
}

/** A probe reply from parsed JSON, or undefined when it is not one. */
export function toProbeReply(body: unknown): ProbeReply | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const { rif, latencyMs } = body as Record<string, unknown>;
  if (typeof rif !== "number" || !(rif >= 0) || typeof latencyMs !== "number" || !(latencyMs >= 0))
    return undefined;
  return { rif, latencyMs };
}
