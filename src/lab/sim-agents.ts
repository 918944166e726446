/**
 * Monitoring agents in the simulator (SwarmGuard's, one per backend): every
 * `pollIntervalMs` of simulated time (an AGENT_REPORT event of the simulation)
 * each agent reports the interval just ended into the pool's
 * `ResourceReportStore`, whose clock is the simulation clock and whose TTL is
 * the stale limit, so `metrics`, `hybrid` and `resource-aware` read these
 * figures exactly as they would the poller's. A backend not yet in the pool
 * or in a failure episode sends no report.
 *
 * Model of one backend:
 * - CPU: `backgroundLoad` of it is busy with other work (its service times
 *   already carry the stretch, `1 / (1 - load)`); its requests use the rest
 *   in proportion to the busy slots, so its utilisation over an interval is
 *   `load + (1 - load) · busySlotTime / (capacity · interval)`.
 * - Memory: a base of 30% plus 10% at full request load.
 * - Network: a response of `responseBytes` per request served.
 *
 * The agents also keep what SwarmGuard's A/B reads of the arrival window
 * (until the last request arrives): each backend's mean CPU over it and the
 * requests still waiting at its end.
 */
import { ResourceReportStore } from "../load/resource-reports.js";
import type { SimBackend } from "./sim-backend.js";

export interface AgentsConfig {
  /** How often the agents report, simulated ms; default 1000 (SwarmGuard's). */
  pollIntervalMs?: number;
  /** The store's stale limit, ms; default 2000. */
  ttlMs?: number;
  /** Bytes sent per response, for the network figure; default 16 KiB. */
  responseBytes?: number;
}

/** The backends' load over the arrival window, in scenario order. */
export interface ArrivalWindowLoad {
  /** When the last request arrived, ms. */
  endMs: number;
  backends: {
    /** Mean CPU utilisation over the window, background included, percent (unrounded). */
    cpuPercent: number;
    /** Requests waiting at the backend when the last one arrived (before it was routed). */
    backlog: number;
  }[];
}

export class SimAgents {
  readonly store: ResourceReportStore;
  readonly pollIntervalMs: number;
  /** Set when the last request arrives. */
  arrivalWindow: ArrivalWindowLoad | undefined;
  #responseBytes: number;
  #backends: readonly SimBackend[];
  /** Per backend, its busy slot-ms and requests served at the last report. */
  #busyAtReport: Float64Array;
  #servedAtReport: Float64Array;

  constructor(config: AgentsConfig, backends: readonly SimBackend[], now: () => number) {
    this.pollIntervalMs = config.pollIntervalMs ?? 1000;
    if (!(this.pollIntervalMs > 0)) throw new RangeError("agents.pollIntervalMs must be positive");
    this.#responseBytes = config.responseBytes ?? 16 * 1024;
    this.store = new ResourceReportStore({ ttlMs: config.ttlMs ?? 2000, now });
    this.#backends = backends;
    this.#busyAtReport = new Float64Array(backends.length);
    this.#servedAtReport = new Float64Array(backends.length);
  }

  /** Every agent reports the interval just ended (`now` is a poll time). */
  report(now: number): void {
    const intervalMs = this.pollIntervalMs;
    for (const sim of this.#backends) {
      const busy = sim.busySlotMs(now);
      const busyFraction =
        (busy - (this.#busyAtReport[sim.index] as number)) / (sim.spec.capacity * intervalMs);
      const served = sim.served - (this.#servedAtReport[sim.index] as number);
      this.#busyAtReport[sim.index] = busy;
      this.#servedAtReport[sim.index] = sim.served;
      if (sim.backend === undefined || sim.failing > 0) continue;
      this.store.write(
        sim.spec.id,
        {
          cpu: cpuPercent(sim, busyFraction),
          memory: 30 + 10 * busyFraction,
          network: (served * this.#responseBytes * 1000) / intervalMs,
        },
        now,
      );
    }
  }

  /** The last request arrived at `now`: keeps the backends' load over the arrival window. */
  arrivalsEnded(now: number): void {
    this.arrivalWindow = {
      endMs: now,
      backends: this.#backends.map((sim) => ({
        cpuPercent: cpuPercent(sim, now > 0 ? sim.busySlotMs(now) / (sim.spec.capacity * now) : 0),
        backlog: sim.queue.size,
      })),
    };
  }
}

/** CPU utilisation, percent, of a backend whose request slots were busy `busyFraction` of the time. */
function cpuPercent(sim: SimBackend, busyFraction: number): number {
  const load = sim.spec.backgroundLoad ?? 0;
  return 100 * (load + (1 - load) * busyFraction);
}
