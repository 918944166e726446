/**
 * The last N outcomes of each backend (latency and success), kept in a ring
 * buffer so "average response time" and "recent failure rate" describe the
 * backend as it is now, not over its whole life (the ALPHA1/BETA1 balancer's RRT-BS, HS-BS and
 * HF-WRR all read these two figures).
 */
import type { Backend } from "../core/backend.js";
import type { Outcome } from "../core/outcome.js";

class Window {
  latencies: Float64Array;
  failures: Uint8Array;
  next = 0;
  count = 0;
  latencySum = 0;
  latencyCount = 0;
  failureCount = 0;

  constructor(size: number) {
    this.latencies = new Float64Array(size).fill(Number.NaN);
    this.failures = new Uint8Array(size);
  }
}

export class OutcomeWindow {
  #size: number;
  #windows = new WeakMap<Backend, Window>();

  constructor(size: number) {
    this.#size = size;
  }

  record(backend: Backend, outcome: Outcome): void {
    let window = this.#windows.get(backend);
    if (!window) {
      window = new Window(this.#size);
      this.#windows.set(backend, window);
    }
    const slot = window.next;
    if (window.count === this.#size) {
      const old = window.latencies[slot] as number;
      if (!Number.isNaN(old)) {
        window.latencySum -= old;
        window.latencyCount--;
      }
      window.failureCount -= window.failures[slot] as number;
    } else {
      window.count++;
    }
    const failed = outcome.error !== undefined || (outcome.status ?? 0) >= 500;
    const latency =
      outcome.error === undefined && outcome.latencyMs !== undefined ? outcome.latencyMs : Number.NaN;
    window.latencies[slot] = latency;
    if (!Number.isNaN(latency)) {
      window.latencySum += latency;
      window.latencyCount++;
    }
    window.failures[slot] = failed ? 1 : 0;
    window.failureCount += failed ? 1 : 0;
    window.next = slot + 1 === this.#size ? 0 : slot + 1;
  }

  /** Mean latency of the successful samples in the window, or undefined before the first. */
  meanLatency(backend: Backend): number | undefined {
    const window = this.#windows.get(backend);
    return window && window.latencyCount > 0 ? window.latencySum / window.latencyCount : undefined;
  }

  /** Share of the window's outcomes that failed; 0 before the first outcome. */
  failureRate(backend: Backend): number {
    const window = this.#windows.get(backend);
    return window && window.count > 0 ? window.failureCount / window.count : 0;
  }

  /** Forgets every backend's history (adaptive's periodic reset). */
  clear(): void {
    this.#windows = new WeakMap();
  }
}
