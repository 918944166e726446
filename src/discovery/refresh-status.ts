/**
 * How a discovery source's refreshes go: counts for stats and tests, and the
 * log. A failure is logged when its message differs from the last one (a
 * source retried every few seconds must not fill the log with the same
 * line), and the first success after failures is logged as the recovery.
 */
import type { WatchLogger } from "../core/watch-file.js";

/** A discovery source's state, as stats report it. */
export interface DiscoveryStats {
  source: "dns" | "file";
  /** What is followed: the DNS name or the file's path. */
  target: string;
  /** Refreshes that succeeded (a lookup answered, the file read and valid). */
  refreshes: number;
  failures: number;
  /** The last failure's message, until a refresh succeeds. */
  lastError: string | undefined;
  /** Backends in the pool that this source added. */
  backends: number;
}

export class RefreshStatus {
  readonly #logger: WatchLogger;
  /** Names the source in the log, e.g. `dns orders.internal`. */
  readonly label: string;
  refreshes = 0;
  failures = 0;
  lastError: string | undefined;

  constructor(label: string, logger: WatchLogger) {
    this.label = label;
    this.#logger = logger;
  }

  succeeded(): void {
    this.refreshes++;
    if (this.lastError === undefined) return;
    this.#logger.info({}, `${this.label}: answering again after failures; backends follow it`);
    this.lastError = undefined;
  }

  failed(error: unknown): void {
    this.failures++;
    const message = error instanceof Error ? error.message : String(error);
    if (message !== this.lastError) {
      this.#logger.error({ error: message }, `${this.label}: ${message}; keeping the backends as they are`);
    }
    this.lastError = message;
  }
}
