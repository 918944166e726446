/**
 * Following a key prefix in etcd: a watch on the prefix signals changes and,
 * after a short debounce, the caller reads the prefix again; reads run one
 * at a time (a request during one runs another after it). Reading everything
 * instead of replaying events keeps one code path for start, changes and
 * reconnects. The watch coming up (at start and after each reconnect) reads
 * at once, so changes made while etcd was unreachable from here arrive even
 * if the watch's old revision was compacted meanwhile; etcd cancelling the
 * watch starts a new one from now a second later. The config store follows
 * every pool and route list this way (config/etcd/etcd-sync.ts), etcd
 * discovery one pool's backends (etcd-discovery.ts).
 */
import { type Etcd3, EtcdWatchStreamEnded, type Watcher } from "etcd3";

export interface FollowHandlers {
  /** Reads the prefix and applies what it found; must not throw. */
  read(): Promise<void>;
  /** The watch is up: at start, and again after being down. */
  connected?(): void;
  /**
   * The watch is down; `error` is undefined when the stream only ended
   * after the error that ended it was reported.
   */
  disconnected?(error: Error | undefined): void;
  /** etcd cancelled the watch (e.g. its revision was compacted); a new one starts a second later. */
  cancelled?(error: Error): void;
}

export interface FollowOptions {
  prefix: string;
  /** Changes arriving within this window are read once. */
  debounceMs: number;
  /** Watch from this revision on (the one after the caller's last read); default now. */
  startRevision?: number;
}

/** Delay before reading again after a failed read while the watch is up, and before re-creating a cancelled watch. */
const RETRY_MS = 1_000;
const CANCEL_TIMEOUT_MS = 1_000;

export class EtcdPrefixFollower {
  readonly #client: Etcd3;
  readonly #options: FollowOptions;
  readonly #handlers: FollowHandlers;
  #watcher: Watcher | undefined;
  #connected = false;
  #timer: NodeJS.Timeout | undefined;
  #due = 0;
  #running = false;
  #again = false;
  #closed = false;

  constructor(client: Etcd3, options: FollowOptions, handlers: FollowHandlers) {
    this.#client = client;
    this.#options = options;
    this.#handlers = handlers;
  }

  /** Starts the watch; its coming up reads the prefix. */
  start(): void {
    this.#watch(this.#options.startRevision);
  }

  /**
   * Reads within `delayMs` (default the debounce), so a burst of changes is
   * read once. A read already due sooner stays.
   */
  refresh(delayMs = this.#options.debounceMs): void {
    if (this.#closed) return;
    const due = Date.now() + delayMs;
    if (this.#timer && this.#due <= due) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#due = due;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, delayMs);
  }

  /** After a failed read: while the watch is up, reads again a second later; while it is down, its return reads. */
  retryLater(): void {
    if (this.#connected) this.refresh(RETRY_MS);
  }

  /** Stops watching and reading. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (!watcher) return;
    // A cancel waits for etcd's answer; etcd may be gone.
    await Promise.race([
      watcher.cancel().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, CANCEL_TIMEOUT_MS).unref()),
    ]);
  }

  #watch(startRevision?: number): void {
    let builder = this.#client.watch().prefix(this.#options.prefix);
    if (startRevision !== undefined) builder = builder.startRevision(String(startRevision));
    // `watcher()` rather than `create()`: the handlers must be on before the first connect or failure.
    const watcher = builder.watcher();
    this.#watcher = watcher;
    watcher.on("connected", () => {
      this.#connected = true;
      this.#handlers.connected?.();
      this.refresh(0);
    });
    watcher.on("disconnected", (error) => {
      this.#connected = false;
      // "Stream ended" follows the error that ended it, which says more.
      this.#handlers.disconnected?.(error instanceof EtcdWatchStreamEnded ? undefined : error);
    });
    watcher.on("data", (response) => {
      if (response.events.length > 0) this.refresh();
    });
    watcher.on("error", (error) => {
      this.#handlers.cancelled?.(error);
      if (this.#watcher === watcher) this.#watcher = undefined;
      setTimeout(() => {
        if (!this.#closed && this.#watcher === undefined) this.#watch();
      }, RETRY_MS);
    });
  }

  /** Runs one read at a time; a request during one runs another after it. */
  #run(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#handlers.read().finally(() => {
      this.#running = false;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.#run();
      }
    });
  }
}
