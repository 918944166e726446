/**
 * `GET /api/events`: server-sent events that push one JSON snapshot per
 * interval (1 s by default) to every connected client. One timer per server,
 * not per client: each tick builds the snapshot once and writes the same
 * text to every stream, and a client that connects between ticks gets the
 * latest one at once. The timer runs only while someone listens; `close()`
 * stops it and ends every stream. `GET /api/snapshot` answers the same
 * snapshot once, as JSON (what a cluster primary merges across workers).
 * Snapshots lose their secrets (redact.ts) as every admin answer does.
 */
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import type { Logger } from "../observability/logger.js";
import type { AdminHandler, AdminStream, StreamClient } from "./admin-context.js";
import { AdminError } from "./admin-errors.js";
import { redactSecrets } from "./redact.js";
import type { Router } from "./router.js";

export const DEFAULT_EVENTS_INTERVAL_MS = 1_000;
/** Streams open at once; more get 503 (each holds a socket). */
export const DEFAULT_MAX_EVENT_STREAMS = 64;
/** How long a browser waits before reconnecting a dropped stream. */
const RETRY_MS = 2_000;

export interface LiveEventsOptions {
  /** Builds the snapshot each tick sends (a cluster primary's gathers it from the workers). */
  snapshot: () => unknown;
  intervalMs?: number;
  maxStreams?: number;
  logger: Logger;
}

export class LiveEvents implements AdminStream {
  readonly intervalMs: number;
  readonly maxStreams: number;
  readonly #snapshot: () => unknown;
  #ticking = false;
  readonly #logger: Logger;
  readonly #clients = new Set<StreamClient>();
  #timer: NodeJS.Timeout | undefined;
  #latest: string | undefined;
  #closed = false;

  constructor(options: LiveEventsOptions) {
    this.#snapshot = options.snapshot;
    this.#logger = options.logger;
    this.intervalMs = positive("eventsIntervalMs", options.intervalMs ?? DEFAULT_EVENTS_INTERVAL_MS);
    this.maxStreams = positive("maxEventStreams", options.maxStreams ?? DEFAULT_MAX_EVENT_STREAMS);
  }

  /** Streams open now. */
  get streams(): number {
    return this.#clients.size;
  }

  /** True while a tick timer runs (only while streams are open). */
  get ticking(): boolean {
    return this.#timer !== undefined;
  }

  /** True when no further stream may open (full, or closed). */
  get full(): boolean {
    return this.#closed || this.#clients.size >= this.maxStreams;
  }

  open(client: StreamClient): () => void {
    if (this.#closed) {
      client.end();
      return () => {};
    }
    this.#clients.add(client);
    client.write(`retry: ${RETRY_MS}\n\n`);
    if (this.#timer === undefined) {
      this.#timer = setInterval(this.#tick, this.intervalMs);
      this.#timer.unref();
      this.#tick();
    } else if (this.#latest !== undefined) {
      client.write(this.#latest);
    }
    return () => this.#leave(client);
  }

  /** Stops the timer and ends every stream; later opens end at once. */
  close(): void {
    this.#closed = true;
    this.#stop();
    const clients = [...this.#clients];
    this.#clients.clear();
    for (const client of clients) client.end();
  }

  #leave(client: StreamClient): void {
    if (!this.#clients.delete(client)) return;
    if (this.#clients.size === 0) this.#stop();
  }

  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#latest = undefined;
  }

  /** The snapshot as a tick would send it now (`GET /api/snapshot`). */
  snapshot(): Promise<unknown> {
    return Promise.resolve().then(this.#snapshot);
  }

  #tick = (): void => {
    // A snapshot still being gathered (from cluster workers) skips this tick rather than piling up.
    if (this.#ticking) return;
    let snapshot: unknown;
    try {
      snapshot = this.#snapshot();
    } catch (error) {
      this.#failed(error);
      return;
    }
    if (!(snapshot instanceof Promise)) {
      this.#send(snapshot);
      return;
    }
    this.#ticking = true;
    snapshot
      .then((value) => this.#send(value), this.#failed)
      .finally(() => {
        this.#ticking = false;
      });
  };

  #send(snapshot: unknown): void {
    if (this.#timer === undefined) return;
    let message: string;
    try {
      message = `data: ${JSON.stringify(redactSecrets(snapshot))}\n\n`;
    } catch (error) {
      this.#failed(error);
      return;
    }
    this.#latest = message;
    for (const client of this.#clients) client.write(message);
  }

  #failed = (error: unknown): void => {
    this.#logger.error({ err: error }, "building the live snapshot failed");
  };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, `${name} must be a whole number of at least 1`, {
      [name]: value,
    });
  }
  return value;
}

export function addEventRoutes(router: Router<AdminHandler>, events: LiveEvents): void {
  router.add("GET", "/api/events", () => {
    if (events.full) {
      throw new AdminError(
        ErrorCodes.TOO_MANY_STREAMS,
        `too many event streams open (at most ${events.maxStreams}); close a dashboard tab or retry later`,
        { headers: { "retry-after": String(RETRY_MS / 1000) } },
      );
    }
    return { body: null, stream: events };
  });
  router.add("GET", "/api/snapshot", async () => ({ body: await events.snapshot() }));
}
