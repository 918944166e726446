/**
 * Which agent entries are a backend, and how their figures combine. A
 * backend's `agent.match` is one of:
 * - `key=value`: entries whose label `key` equals `value`;
 * - `/regex/flags`: entries whose name matches;
 * - any other text: entries whose name, id or service name equals it, whose
 *   id starts with it (a short container id, 12+ characters), or whose name
 *   is a Swarm task of that service (`web-stress.1.abc…` for `web-stress`).
 * Without `match`, every entry of the agent counts (one backend per node).
 * Several matching entries (replicas behind one address) are averaged.
 */
import type { ResourceSample } from "../load/resource-reports.js";

/** One entry of an agent's report, normalised by the poller. */
export interface AgentEntry {
  id: string;
  name: string;
  service: string | undefined;
  labels: Readonly<Record<string, string>> | undefined;
  cpu: number;
  memory: number;
  /** rx + tx, bytes per second. */
  network: number;
  /** Age of the figures when the agent answered, ms (its report time minus the entry's). */
  ageMs: number;
}

export type EntryMatcher = (entry: AgentEntry) => boolean;

const MIN_ID_PREFIX = 12;

/** Compiles a `match` string; throws on an invalid regular expression. */
export function compileMatch(match: string | undefined): EntryMatcher {
  if (match === undefined) return () => true;
  const regex = /^\/(.+)\/([a-z]*)$/.exec(match);
  if (regex) {
    const pattern = new RegExp(regex[1] as string, (regex[2] as string).replace(/[gy]/g, ""));
    return (entry) => pattern.test(entry.name);
  }
  const eq = match.indexOf("=");
  if (eq > 0) {
    const key = match.slice(0, eq);
    const value = match.slice(eq + 1);
    return (entry) => entry.labels?.[key] === value;
  }
  const task = `${match}.`;
  return (entry) =>
    entry.name === match ||
    entry.id === match ||
    entry.service === match ||
    (match.length >= MIN_ID_PREFIX && entry.id.startsWith(match)) ||
    entry.name.startsWith(task);
}

/** Mean CPU, memory and network of `entries`, and the oldest age among them; undefined for none. */
export function combine(entries: readonly AgentEntry[]): (ResourceSample & { ageMs: number }) | undefined {
  if (entries.length === 0) return undefined;
  let cpu = 0;
  let memory = 0;
  let network = 0;
  let ageMs = 0;
  for (const entry of entries) {
    cpu += entry.cpu;
    memory += entry.memory;
    network += entry.network;
    if (entry.ageMs > ageMs) ageMs = entry.ageMs;
  }
  const count = entries.length;
  return { cpu: cpu / count, memory: memory / count, network: network / count, ageMs };
}
