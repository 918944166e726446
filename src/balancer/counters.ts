/**
 * What the balancer counts: decisions and the time they took, refusals,
 * failovers with their time and hedges (counted at selection), and, as an attempt observer,
 * each backend's in-flight, request, error and latency figures plus the
 * pool-wide totals. A cancelled hedge only gives its in-flight slot back.
 */
import type { Backend } from "../core/backend.js";
import { type AttemptObserver, isCancelled, isFailure, type Outcome } from "../core/outcome.js";

export class BalancerCounters implements AttemptObserver {
  decisions = 0;
  selectionNsTotal = 0;
  /** Requests refused because no backend was ready. */
  noBackend = 0;
  failovers = 0;
  /** Time requests spent on failed backends before each failover, summed (ms). */
  failoverMsTotal = 0;
  hedges = 0;
  requests = 0;
  errors = 0;

  /** Mean time to choose a backend, in ns. */
  get meanSelectionNs(): number {
    return this.decisions === 0 ? 0 : Math.round(this.selectionNsTotal / this.decisions);
  }

  /**
   * A request moved to its next candidate `elapsedMs` after its first backend
   * was chosen: the time the failure cost it (DWCP's failover time).
   */
  failedOver(elapsedMs: number): void {
    this.failovers++;
    this.failoverMsTotal += elapsedMs;
  }

  /** Mean failover time in ms; 0 before the first failover. */
  get meanFailoverMs(): number {
    return this.failovers === 0 ? 0 : this.failoverMsTotal / this.failovers;
  }

  opened(backend: Backend): void {
    backend.inFlight++;
  }

  closed(backend: Backend, outcome: Outcome): void {
    backend.inFlight--;
    if (isCancelled(outcome)) return;
    backend.requests++;
    this.requests++;
    if (isFailure(outcome)) {
      backend.errors++;
      this.errors++;
    }
    if (outcome.latencyMs !== undefined && outcome.error === undefined)
      backend.recordLatency(outcome.latencyMs);
  }
}
