/**
 * Keeps a running proxy's pools and listeners' routes in step with etcd. The
 * prefix P, which holds both `P pools/` and `P listeners/`, is followed
 * (discovery/etcd-follower.ts: a watch, a debounce, a full read on each
 * change and reconnect); each read that differs from what runs is merged
 * over the config file, validated and applied with the runtime's own
 * `reload` (the hot-reload path). An invalid change is logged once and
 * rejected; the running config stays. Losing etcd never stops routing: the
 * last applied pools and routes keep running, and `status()` says since
 * when the store has been unreachable.
 */

import { isDeepStrictEqual } from "node:util";
import type { Etcd3 } from "etcd3";
import { isSwitchyardError, SwitchyardError } from "../../core/errors.js";
import { describeEtcdError } from "../../discovery/etcd-client.js";
import { EtcdPrefixFollower } from "../../discovery/etcd-follower.js";
import type { StoreLocation } from "../../discovery/etcd-pool-reads.js";
import type { Logger } from "../../observability/logger.js";
import type { ReloadResult } from "../reload.js";
import type { ReloadStats } from "../reload-stats.js";
import type { SwitchyardConfig } from "../schema.js";
import { readStoredConfig, type StoredConfig, type StoredContent } from "./etcd-store-reads.js";

/** What the sync applies changes to (a `Runtime`), counting the changes it rejects. */
export interface SyncTarget {
  reload(next: SwitchyardConfig): ReloadResult;
  readonly reloads: ReloadStats;
}

export interface SyncOptions extends StoreLocation {
  /** Changes arriving within this window are applied together. */
  debounceMs: number;
}

/** The merged, validated config for what the store holds (throws SY_ERR_CONFIG when invalid). */
export type BuildConfig = (stored: StoredContent) => Promise<SwitchyardConfig>;

export interface ConfigStoreStatus {
  provider: "etcd";
  endpoints: string[];
  prefix: string;
  /** Whether this instance's watch on etcd is up. */
  state: "connected" | "disconnected";
  /** When the current state began (ISO 8601). */
  since: string;
  /** The etcd revision of the pools and routes running here. */
  revision: number;
  /** The listeners whose route list running here comes from etcd (it replaced the file's). */
  storedRoutes: string[];
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

export class EtcdPoolSync {
  readonly #client: Etcd3;
  readonly #options: SyncOptions;
  readonly #build: BuildConfig;
  #applied: StoredConfig;
  #target: SyncTarget | undefined;
  #logger: Logger | undefined;
  #follower: EtcdPrefixFollower | undefined;
  #state: ConfigStoreStatus["state"] = "connected";
  #since = new Date();
  #lastError: ConfigStoreStatus["lastError"] = null;
  #rejected: ConfigStoreStatus["rejected"] = null;
  #waiters = new Set<Waiter>();
  #closed = false;

  /** `initial` is what the runtime started with. */
  constructor(client: Etcd3, options: SyncOptions, initial: StoredConfig, build: BuildConfig) {
    this.#client = client;
    this.#options = options;
    this.#applied = initial;
    this.#build = build;
  }

  /** The stored pools and routes running here (the last applied read). */
  get stored(): StoredContent {
    return { pools: this.#applied.pools, routes: this.#applied.routes };
  }

  /** Starts watching and applying changes to `target`. */
  start(target: SyncTarget, logger: Logger): void {
    this.#target = target;
    this.#logger = logger.child({ component: "config-store" });
    this.#follower = new EtcdPrefixFollower(
      this.#client,
      {
        // One follower on the common prefix: one read at a time sees pools and routes together.
        prefix: this.#options.prefix,
        debounceMs: this.#options.debounceMs,
        startRevision: this.#applied.revision + 1,
      },
      {
        read: () =>
          this.#resync().catch((error: unknown) =>
            this.#logger?.error({ err: error }, "reading the config from etcd failed"),
          ),
        connected: () => this.#onConnected(),
        disconnected: (error) => this.#onDisconnected(error),
        cancelled: (error) => {
          this.#noteError(error);
          this.#logger?.warn({ error: describeEtcdError(error) }, "etcd cancelled the watch; watching again");
        },
      },
    );
    this.#follower.start();
    this.#logger.info(
      { endpoints: this.#options.endpoints, prefix: this.#options.prefix, revision: this.#applied.revision },
      "following the pools and routes in etcd",
    );
  }

  /**
   * Reads and applies the store within `delayMs` (default the debounce), so
   * a burst of changes is applied once. A read already due sooner stays.
   */
  refresh(delayMs?: number): void {
    this.#follower?.refresh(delayMs);
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
      storedRoutes: Object.keys(this.#applied.routes),
      lastError: this.#lastError,
      rejected: this.#rejected,
    };
  }

  /** Stops watching; waiting writes resolve as not applied. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(false);
    }
    this.#waiters.clear();
    await this.#follower?.close();
  }

  #onConnected(): void {
    if (this.#state === "disconnected") {
      const seconds = ((Date.now() - this.#since.getTime()) / 1000).toFixed(1);
      this.#logger?.info(
        { downSeconds: Number(seconds) },
        `etcd is back after ${seconds} s; reading the pools and routes`,
      );
      this.#state = "connected";
      this.#since = new Date();
    }
  }

  #onDisconnected(error: Error | undefined): void {
    if (error !== undefined) this.#noteError(error);
    if (this.#state === "disconnected") return;
    this.#state = "disconnected";
    this.#since = new Date();
    this.#logger?.warn(
      { error: error && describeEtcdError(error), revision: this.#applied.revision },
      `lost etcd; routing continues with the pools and routes of revision ${this.#applied.revision}`,
    );
  }

  #noteError(error: unknown): void {
    this.#lastError = {
      message: describeEtcdError(error, this.#options.requestTimeoutMs),
      at: new Date().toISOString(),
    };
  }

  async #resync(): Promise<void> {
    let stored: StoredConfig;
    try {
      stored = await readStoredConfig(this.#client, this.#options);
    } catch (error) {
      if (isSwitchyardError(error, "SY_ERR_CONFIG")) {
        this.#reject(Number(error.details?.revision ?? this.#applied.revision), error);
        return;
      }
      this.#noteError(error);
      this.#follower?.retryLater();
      return;
    }
    if (this.#closed || stored.revision <= this.#applied.revision) return;
    if (this.#rejected?.revision === stored.revision) return;
    const content: StoredContent = { pools: stored.pools, routes: stored.routes };
    if (isDeepStrictEqual(content, this.stored)) {
      this.#applied = stored;
      this.#rejected = null;
      this.#settle(stored.revision);
      return;
    }
    let next: SwitchyardConfig;
    try {
      next = await this.#build(content);
    } catch (error) {
      this.#reject(stored.revision, error);
      return;
    }
    if (this.#closed) return;
    this.#logger?.info(
      { revision: stored.revision },
      `applying the pools and routes of etcd revision ${stored.revision}`,
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
