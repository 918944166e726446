/**
 * `GET /api/history?pool=`: the last five minutes of each pool's chart
 * figures (request rates, latency percentiles), sampled every second from
 * the moment the admin API listens, whether or not a dashboard is open, so
 * a page opened now draws the past five minutes at once. A cluster primary
 * keeps its own, sampled from the workers' merged figures.
 */
import { ErrorCodes } from "../core/errors.js";
import type { Logger } from "../observability/logger.js";
import type { AdminHandler } from "./admin-context.js";
import { AdminError } from "./admin-errors.js";
import { type ChartFigures, ChartHistory, HISTORY_SECONDS, type PoolSeries } from "./chart-history.js";
import type { Router } from "./router.js";

export const DEFAULT_HISTORY_INTERVAL_MS = 1_000;

export interface HistoryJson {
  intervalMs: number;
  seconds: number;
  pools: Record<string, PoolSeries>;
}

export class HistoryRecorder {
  readonly intervalMs: number;
  readonly #history = new ChartHistory();
  readonly #sample: () => Promise<Record<string, ChartFigures>> | Record<string, ChartFigures>;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #sampling = false;

  constructor(
    sample: () => Promise<Record<string, ChartFigures>> | Record<string, ChartFigures>,
    logger: Logger,
    intervalMs = DEFAULT_HISTORY_INTERVAL_MS,
  ) {
    this.#sample = sample;
    this.#logger = logger;
    this.intervalMs = intervalMs;
  }

  /** Samples now and then every interval, until `stop()`; idempotent. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.#record(), this.intervalMs);
    this.#timer.unref();
    void this.#record();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The kept series, of every pool or of `pool` alone (404 for a pool not kept). */
  json(pool: string | undefined): HistoryJson {
    const pools = this.#history.toJSON();
    if (pool !== undefined && !(pool in pools)) {
      throw new AdminError(
        ErrorCodes.UNKNOWN_POOL,
        `no pool named "${pool}"; pools: ${Object.keys(pools).join(", ")}`,
      );
    }
    const chosen = pool === undefined ? pools : { [pool]: pools[pool] as PoolSeries };
    return { intervalMs: this.intervalMs, seconds: HISTORY_SECONDS, pools: chosen };
  }

  handler: AdminHandler = (request) => ({ body: this.json(request.query.get("pool") ?? undefined) });

  async #record(): Promise<void> {
    // A slow sample (a cluster asking its workers) is skipped over, never stacked.
    if (this.#sampling) return;
    this.#sampling = true;
    try {
      this.#history.add(Date.now(), await this.#sample());
    } catch (error) {
      this.#logger.debug({ err: error }, "chart history sample skipped");
    } finally {
      this.#sampling = false;
    }
  }
}

export function addHistoryRoutes(router: Router<AdminHandler>, recorder: HistoryRecorder): void {
  router.add("GET", "/api/history", recorder.handler);
}
