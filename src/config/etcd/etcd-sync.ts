/**
 * Keeps a running proxy's pools in step with etcd. A watch on `P pools/`
 * signals changes; after a short debounce the whole prefix is read again
 * and, if it differs from what runs, merged over the config file, validated
 * and applied with the runtime's own `reload` (the hot-reload path). An
 * invalid change is logged once and rejected; the running config stays.
 *
 * Reading everything instead of replaying events keeps one code path for
 * start, changes and reconnects. etcd3's watcher resumes from the revision
 * after the last one it saw when its stream comes back, and each reconnect
 * also triggers a full read, so changes made while etcd was unreachable from
 * here arrive, even if the watch's old revision was compacted meanwhile.
 * Losing etcd never stops routing: the last applied pools keep running, and
 * `status()` says since when the store has been unreachable.
 */

import { isDeepStrictEqual } from "node:util";
import { type Etcd3, EtcdWatchStreamEnded, type Watcher } from "etcd3";
import { isSwitchyardError, SwitchyardError } from "../../core/errors.js";
import type { Logger } from "../../observability/logger.js";
import type { ReloadResult } from "../reload.js";
import type { ReloadStats } from "../reload-stats.js";
import type { SwitchyardConfig } from "../schema.js";
import { describeEtcdError } from "./etcd-client.js";
import { readStoredPools, type StoredPools, type StoreLocation } from "./etcd-pools.js";
import { poolsPrefix, type RawPool } from "./pool-keys.js";

/** What the sync applies changes to (a `Runtime`), counting the changes it rejects. */
export interface SyncTarget {
  reload(next: SwitchyardConfig): ReloadResult;
  readonly reloads: ReloadStats;
}

export interface SyncOptions extends StoreLocation {
  /** Changes arriving within this window are applied together. */
  debounceMs: number;
}

/** The merged, validated config for a set of stored pools (throws SY_ERR_CONFIG when invalid). */
export type BuildConfig = (pools: Record<string, RawPool>) => Promise<SwitchyardConfig>;

export interface ConfigStoreStatus {
  provider: "etcd";
  endpoints: string[];
  prefix: string;
  /** Whether this instance's watch on etcd is up. */
  state: "connected" | "disconnected";
  /** When the current state began (ISO 8601). */
  since: string;
  /** The etcd revision of the pools running here. */
  revision: number;
  lastError: { message: string; at: string } | null;
  /** The newest change rejected as invalid, while it is newer than what runs. */
  rejected: { revision: number; error: string; at: string } | null;
}

interface Waiter {
  revision: number;
  resolve(applied: boolean): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Delay before re-reading after a failed read while the watch is up, and before re-creating a cancelled watch. */
const RETRY_MS = 1_000;
const CANCEL_TIMEOUT_MS = 1_000;

export class EtcdPoolSync {
  readonly #client: Etcd3;
  readonly #options: SyncOptions;
  readonly #build: BuildConfig;
  #applied: StoredPools;
  #target: SyncTarget | undefined;
  #logger: Logger | undefined;
  #watcher: Watcher | undefined;
  #state: ConfigStoreStatus["state"] = "connected";
  #since = new Date();
  #lastError: ConfigStoreStatus["lastError"] = null;
  #rejected: ConfigStoreStatus["rejected"] = null;
  #timer: NodeJS.Timeout | undefined;
  #due = 0;
  #running = false;
  #again = false;
  #waiters = new Set<Waiter>();
  #closed = false;

  /** `initial` is what the runtime started with. */
  constructor(client: Etcd3, options: SyncOptions, initial: StoredPools, build: BuildConfig) {
    this.#client = client;
    this.#options = options;
    this.#applied = initial;
    this.#build = build;
  }

  /** The stored pools running here (the last applied read). */
  get pools(): Record<string, RawPool> {
    return this.#applied.pools;
  }

  /** Starts watching and applying changes to `target`. */
  start(target: SyncTarget, logger: Logger): void {
    this.#target = target;
    this.#logger = logger.child({ component: "config-store" });
    this.#watch(this.#applied.revision + 1);
    this.#logger.info(
      { endpoints: this.#options.endpoints, prefix: this.#options.prefix, revision: this.#applied.revision },
      "following the pools in etcd",
    );
  }

  /**
   * Reads and applies the store within `delayMs` (default the debounce), so
   * a burst of changes is applied once. A read already due sooner stays.
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

  /**
   * Resolves true once `revision` (or a later one) runs here, false when
   * `timeoutMs` passes first; rejects when the change was rejected as invalid.
   */
  waitForRevision(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.#applied.revision >= revision) return Promise.resolve(true);
    if (this.#rejected && this.#rejected.revision >= revision) {
      return Promise.reject(rejectedError(revision, this.#rejected.error));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        revision,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          resolve(false);
        }, timeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  status(): ConfigStoreStatus {
    return {
      provider: "etcd",
      endpoints: [...this.#options.endpoints],
      prefix: this.#options.prefix,
      state: this.#state,
      since: this.#since.toISOString(),
      revision: this.#applied.revision,
      lastError: this.#lastError,
      rejected: this.#rejected,
    };
  }

  /** Stops watching; waiting writes resolve as not applied. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.#waiters.clear();
    await this.#stopWatch();
  }

  #watch(startRevision?: number): void {
    let builder = this.#client.watch().prefix(poolsPrefix(this.#options.prefix));
    if (startRevision !== undefined) builder = builder.startRevision(String(startRevision));
    // `watcher()` rather than `create()`: the handlers must be on before the first connect or failure.
    const watcher = builder.watcher();
    this.#watcher = watcher;
    watcher.on("connected", () => this.#onConnected());
    watcher.on("disconnected", (error) => this.#onDisconnected(error));
    watcher.on("data", (response) => {
      if (response.events.length > 0) this.refresh();
    });
    watcher.on("error", (error) => {
      // etcd cancelled the watch (e.g. its revision was compacted): watch anew from now and read everything.
      this.#noteError(error);
      this.#logger?.warn({ error: describeEtcdError(error) }, "etcd cancelled the watch; watching again");
      if (this.#watcher === watcher) this.#watcher = undefined;
      setTimeout(() => {
        if (!this.#closed && this.#watcher === undefined) this.#watch();
      }, RETRY_MS);
    });
  }

  async #stopWatch(): Promise<void> {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (!watcher) return;
    // A cancel waits for etcd's answer; etcd may be gone.
    await Promise.race([
      watcher.cancel().catch(() => undefined),
      new Promise((resolve) => setTimeout(resolve, CANCEL_TIMEOUT_MS).unref()),
    ]);
  }

  #onConnected(): void {
    if (this.#state === "disconnected") {
      const seconds = ((Date.now() - this.#since.getTime()) / 1000).toFixed(1);
      this.#logger?.info(
        { downSeconds: Number(seconds) },
        `etcd is back after ${seconds} s; reading the pools`,
      );
      this.#state = "connected";
      this.#since = new Date();
    }
    this.refresh(0);
  }

  #onDisconnected(error: Error): void {
    // "Stream ended" follows the error that ended it, which says more.
    if (!(error instanceof EtcdWatchStreamEnded)) this.#noteError(error);
    if (this.#state === "disconnected") return;
    this.#state = "disconnected";
    this.#since = new Date();
    this.#logger?.warn(
      { error: describeEtcdError(error), revision: this.#applied.revision },
      `lost etcd; routing continues with the pools of revision ${this.#applied.revision}`,
    );
  }

  #noteError(error: unknown): void {
    this.#lastError = {
      message: describeEtcdError(error, this.#options.requestTimeoutMs),
      at: new Date().toISOString(),
    };
  }

  /** Runs one resync at a time; a request during one runs another after it. */
  #run(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    this.#resync()
      .catch((error: unknown) => this.#logger?.error({ err: error }, "reading the pools from etcd failed"))
      .finally(() => {
        this.#running = false;
        if (this.#again && !this.#closed) {
          this.#again = false;
          this.#run();
        }
      });
  }

  async #resync(): Promise<void> {
    let stored: StoredPools;
    try {
      stored = await readStoredPools(this.#client, this.#options);
    } catch (error) {
      if (isSwitchyardError(error, "SY_ERR_CONFIG")) {
        this.#reject(Number(error.details?.revision ?? this.#applied.revision), error);
        return;
      }
      this.#noteError(error);
      // While the watch is down its reconnect triggers the next read; while it is up, retry.
      if (this.#state === "connected") this.refresh(RETRY_MS);
      return;
    }
    if (this.#closed || stored.revision <= this.#applied.revision) return;
    if (this.#rejected?.revision === stored.revision) return;
    if (isDeepStrictEqual(stored.pools, this.#applied.pools)) {
      this.#applied = stored;
      this.#rejected = null;
      this.#settle(stored.revision);
      return;
    }
    let next: SwitchyardConfig;
    try {
      next = await this.#build(stored.pools);
    } catch (error) {
      this.#reject(stored.revision, error);
      return;
    }
    if (this.#closed) return;
    this.#logger?.info(
      { revision: stored.revision },
      `applying the pools of etcd revision ${stored.revision}`,
    );
    this.#target?.reload(next);
    this.#applied = stored;
    this.#rejected = null;
    this.#settle(stored.revision);
  }

  #reject(revision: number, error: unknown): void {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\n\s*/g, " ");
    if (this.#rejected?.revision !== revision) {
      this.#logger?.error(
        { revision, code: (error as { code?: string }).code },
        `etcd change rejected, keeping the running config (revision ${this.#applied.revision}): ${message}`,
      );
      this.#target?.reloads.recordRejected();
    }
    this.#rejected = { revision, error: message, at: new Date().toISOString() };
    this.#settle(revision, message);
  }

  /** Resolves (or, with `rejection`, rejects) the writes waiting for `revision` or earlier. */
  #settle(revision: number, rejection?: string): void {
    for (const waiter of this.#waiters) {
      if (waiter.revision > revision) continue;
      this.#waiters.delete(waiter);
      clearTimeout(waiter.timer);
      if (rejection === undefined) waiter.resolve(true);
      else waiter.reject(rejectedError(waiter.revision, rejection));
    }
  }
}

function rejectedError(revision: number, reason: string): SwitchyardError {
  return new SwitchyardError(
    "SY_ERR_CONFIG",
    `the change was written to etcd (revision ${revision}) but this instance rejected it: ${reason}`,
  );
}
