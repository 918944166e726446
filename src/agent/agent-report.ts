/**
 * Reading an agent's `GET /metrics/containers` body on the balancer side.
 * Accepts Switchyard's agent (`id`, `name`, `cpu_percent`, `memory_percent`,
 * `net_rx_bytes_per_sec`, `net_tx_bytes_per_sec`, `timestamp`) and SwarmGuard's
 * SwarmGuard agent (`container_id`, `container_name`, `service_name`,
 * `network_rx_mbps`/`network_tx_mbps` in megabits per second). Timestamps may
 * be Unix seconds or milliseconds. A body that is not such a report is an
 * error; a single malformed entry is dropped and counted, the rest are used.
 */
import { isRecord } from "../core/is-record.js";
import type { AgentEntry } from "./match.js";
import { BYTES_PER_MEGABIT } from "./sampler.js";

export class AgentReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentReportError";
  }
}

export interface ParsedReport {
  node: string | undefined;
  entries: AgentEntry[];
  /** Entries dropped as malformed. */
  rejected: number;
}

/** Parses a report; throws AgentReportError when the body is not one. */
export function parseAgentReport(body: unknown): ParsedReport {
  if (!isRecord(body)) throw new AgentReportError("expected a JSON object");
  const containers = body.containers;
  if (!Array.isArray(containers)) throw new AgentReportError('expected a "containers" array');
  const reportedAt = toMs(body.timestamp);
  const entries: AgentEntry[] = [];
  let rejected = 0;
  for (const raw of containers) {
    const entry = isRecord(raw) ? parseEntry(raw, reportedAt) : undefined;
    if (entry) entries.push(entry);
    else rejected++;
  }
  return { node: typeof body.node === "string" ? body.node : undefined, entries, rejected };
}

function parseEntry(raw: Record<string, unknown>, reportedAt: number | undefined): AgentEntry | undefined {
  const id = text(raw.id) ?? text(raw.container_id);
  const cpu = percent(raw.cpu_percent);
  if (id === undefined || cpu === undefined) return undefined;
  const memory = percent(raw.memory_percent ?? 0);
  if (memory === undefined) return undefined;
  let network: number | undefined;
  if (raw.net_rx_bytes_per_sec !== undefined || raw.net_tx_bytes_per_sec !== undefined) {
    const rx = nonNegative(raw.net_rx_bytes_per_sec ?? 0);
    const tx = nonNegative(raw.net_tx_bytes_per_sec ?? 0);
    network = rx === undefined || tx === undefined ? undefined : rx + tx;
  } else {
    const rx = nonNegative(raw.network_rx_mbps ?? 0);
    const tx = nonNegative(raw.network_tx_mbps ?? 0);
    network = rx === undefined || tx === undefined ? undefined : (rx + tx) * BYTES_PER_MEGABIT;
  }
  if (network === undefined) return undefined;
  const sampledAt = toMs(raw.timestamp);
  const ageMs = reportedAt !== undefined && sampledAt !== undefined ? Math.max(0, reportedAt - sampledAt) : 0;
  return {
    id,
    name: text(raw.name) ?? text(raw.container_name) ?? id,
    service: text(raw.service_name),
    labels: stringRecord(raw.labels),
    cpu,
    memory,
    network,
    ageMs,
  };
}

function text(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function nonNegative(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** A percentage: 0 or more (CPU may pass 100 on several cores), at most 100 000. */
function percent(value: unknown): number | undefined {
  const number = nonNegative(value);
  return number !== undefined && number <= 100_000 ? number : undefined;
}

/** Unix seconds or milliseconds → milliseconds. */
function toMs(value: unknown): number | undefined {
  const number = nonNegative(value);
  if (number === undefined) return undefined;
  return number > 1e11 ? number : number * 1000;
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (!isRecord(value)) return undefined;
  const record: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) if (typeof item === "string") record[key] = item;
  return record;
}
