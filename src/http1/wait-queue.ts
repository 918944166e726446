/**
 * The FIFO queue of requests waiting for an upstream slot (an HTTP/1.1
 * connection, an HTTP/2 stream), shared by both pools: each entry has a timer
 * and, when nothing frees up within `timeoutMs`, leaves the queue and is
 * handed to `onTimeout`, which fails it with QUEUE_TIMEOUT (it never reached
 * the backend, so the exchange may send it elsewhere).
 */
import { UpstreamError, UpstreamErrorCodes } from "./upstream-handler.js";

/** What the queue needs of an entry: a place for its timer. */
export interface Waiting {
  timer: NodeJS.Timeout | undefined;
}

export class WaitQueue<T extends Waiting> {
  readonly #items: T[] = [];
  readonly #timeoutMs: number;
  readonly #onTimeout: (item: T, error: UpstreamError) => void;

  constructor(timeoutMs: number, onTimeout: (item: T, error: UpstreamError) => void) {
    this.#timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
  }

  get length(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
    item.timer = setTimeout(() => {
      this.remove(item);
      this.#onTimeout(
        item,
        new UpstreamError(
          UpstreamErrorCodes.QUEUE_TIMEOUT,
          `every connection to the backend stayed busy for ${this.#timeoutMs} ms`,
        ),
      );
    }, this.#timeoutMs);
  }

  /** The oldest entry, its timer stopped; undefined when the queue is empty. */
  shift(): T | undefined {
    const item = this.#items.shift();
    if (item !== undefined) clearTimeout(item.timer);
    return item;
  }

  /** Takes `item` out (it was aborted); false when it was not queued. */
  remove(item: T): boolean {
    clearTimeout(item.timer);
    const at = this.#items.indexOf(item);
    if (at < 0) return false;
    this.#items.splice(at, 1);
    return true;
  }

  /** Empties the queue, timers stopped. */
  takeAll(): T[] {
    const items = this.#items.splice(0);
    for (const item of items) clearTimeout(item.timer);
    return items;
  }
}
