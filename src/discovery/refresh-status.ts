/**
 * How a discovery source's refreshes go: counts and times for stats and
 * metrics, and the log. A failure is logged when it starts a run of
 * failures or its message differs from the last one (a source retried every
 * few seconds must not fill the log with the same line), and the first
 * success after failures is logged as the recovery. The last error stays
 * reported after a recovery, with its time, as the agent poller's does.
 */
import type { WatchLogger } from "../core/watch-file.js";

export type DiscoverySource = "dns" | "file" | "etcd";

/** A discovery source's state, as stats report it. */
export interface DiscoveryStats {
  source: DiscoverySource;
  /** What is followed: the DNS name, the file's path, or the pool's key in etcd. */
  target: string;
  /** Refreshes that succeeded (a lookup answered, the file or the pool read and valid). */
  refreshes: number;
  failures: number;
  /** Failures since the last success: above 0 while the source is failing. */
  consecutiveFailures: number;
  /** Unix ms; null before the first success. */
  lastSuccessAt: number | null;
  lastErrorAt: number | null;
  /** The last failure's message, kept after a recovery (compare lastErrorAt with lastSuccessAt). */
  lastError: string | null;
  /** Backends in the pool that this source added. */
  backends: number;
}

export class RefreshStatus {
  readonly #logger: WatchLogger;
  readonly #source: DiscoverySource;
  readonly #target: string;
  /** Names the source in the log, e.g. `dns orders.internal`. */
  readonly label: string;
  #refreshes = 0;
  #failures = 0;
  #consecutiveFailures = 0;
  #lastSuccessAt: number | null = null;
  #lastErrorAt: number | null = null;
  #lastError: string | null = null;

  constructor(source: DiscoverySource, target: string, label: string, logger: WatchLogger) {
    this.#source = source;
    this.#target = target;
    this.label = label;
    this.#logger = logger;
  }

  succeeded(): void {
    this.#refreshes++;
    this.#lastSuccessAt = Date.now();
    if (this.#consecutiveFailures === 0) return;
    this.#consecutiveFailures = 0;
    this.#logger.info({}, `${this.label}: answering again after failures; backends follow it`);
  }

  failed(error: unknown): void {
    this.#failures++;
    this.#consecutiveFailures++;
    this.#lastErrorAt = Date.now();
    const message = error instanceof Error ? error.message : String(error);
    if (this.#consecutiveFailures === 1 || message !== this.#lastError) {
      this.#logger.error({ error: message }, `${this.label}: ${message}; keeping the backends as they are`);
    }
    this.#lastError = message;
  }

  /** The stats, with `backends` the number the source has in the pool now. */
  stats(backends: number): DiscoveryStats {
    return {
      source: this.#source,
      target: this.#target,
      refreshes: this.#refreshes,
      failures: this.#failures,
      consecutiveFailures: this.#consecutiveFailures,
      lastSuccessAt: this.#lastSuccessAt,
      lastErrorAt: this.#lastErrorAt,
      lastError: this.#lastError,
      backends,
    };
  }
}
