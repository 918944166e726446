/**
 * Passive outlier detection (after Envoy's consecutive-5xx detector): live
 * outcomes are counted per backend, and `consecutiveFailures` failures in a
 * row (transport error or status >= 500) eject it for `baseEjectionMs` times
 * the number of times it has been ejected, capped at `maxEjectionMs`. Never
 * more than `maxEjectedPercent` of the pool is ejected at once (rounded down,
 * so a one-backend pool is never ejected). An ejection ends when its time is
 * up: one unref'd timer waits for the earliest end, so the state flips (and
 * listeners hear of it) with no traffic, and `tick()` on every selection
 * (a no-op while none is due) ends it on time under an injected clock. The
 * timer is cleared when nothing is ejected and on `stop()`. Writing the pool
 * is left to the hooks.
 */
import { type Backend, servesTraffic } from "../core/backend.js";
import { isCancelled, type Outcome } from "../core/outcome.js";
import type { Pool } from "../core/pool.js";
import type { OutlierDetectionSettings } from "./health-options.js";

export interface OutlierHooks {
  /** `backend` is ejected; `detail` says why and for how long. */
  eject(backend: Backend, detail: string): void;
  /** `backend`'s ejection time is over. */
  restore(backend: Backend): void;
}

export interface OutlierDetails {
  /** Failed live requests in a row. */
  consecutiveFailures: number;
  ejected: boolean;
  /** Times ejected so far. */
  ejections: number;
  /** When the current ejection ends, on the balancer's clock (ms). */
  ejectedUntil: number | undefined;
}

interface Entry {
  consecutiveFailures: number;
  ejections: number;
  ejectedUntil: number | undefined;
}

export class OutlierDetector {
  #pool: Pool;
  #options: OutlierDetectionSettings;
  #now: () => number;
  #hooks: OutlierHooks;
  #entries = new Map<Backend, Entry>();
  #ejected = new Set<Backend>();
  /** The earliest end of an ejection in force, on the balancer's clock. */
  #wakeAt = Number.POSITIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** A timer may fire a little early by the balancer's clock: what is not due yet is waited for again. */
  #wake = () => {
    this.tick();
    this.#arm();
  };
  /** Ejections so far, all backends together. */
  ejections = 0;

  constructor(pool: Pool, options: OutlierDetectionSettings, now: () => number, hooks: OutlierHooks) {
    this.#pool = pool;
    this.#options = options;
    this.#now = now;
    this.#hooks = hooks;
  }

  /** Counts one finished attempt; may eject the backend. */
  record(backend: Backend, outcome: Outcome): void {
    // A hedge cancelled because its twin answered first says nothing about the backend: not a failure.
    if (isCancelled(outcome)) return;
    const failed = outcome.error !== undefined || (outcome.status !== undefined && outcome.status >= 500);
    // An attempt that ended with nothing known (the client went away) counts neither way.
    if (!failed && outcome.status === undefined && outcome.latencyMs === undefined) return;
    // Outcomes from requests that were in flight at ejection, or reached a backend out of rotation
    // (panic routing), are not held against it.
    if (this.#ejected.has(backend) || !servesTraffic(backend.state)) return;
    const entry = this.#entry(backend);
    if (!failed) {
      entry.consecutiveFailures = 0;
      return;
    }
    if (++entry.consecutiveFailures >= this.#options.consecutiveFailures) this.#eject(backend, entry);
  }

  /** Ends the ejections that are due; cheap when none is. */
  tick(): void {
    if (this.#ejected.size === 0) return;
    const now = this.#now();
    if (now < this.#wakeAt) return;
    for (const backend of this.#ejected) {
      const entry = this.#entry(backend);
      if ((entry.ejectedUntil ?? now) > now) continue;
      this.#end(backend, entry);
      this.#hooks.restore(backend);
    }
    this.#arm();
  }

  /** Lets ejections end on their own again after `stop()`. */
  start(): void {
    this.#stopped = false;
    this.#arm();
  }

  /** Clears the timer; ejections then end only through `tick()`. */
  stop(): void {
    this.#stopped = true;
    this.#arm();
  }

  isEjected(backend: Backend): boolean {
    return this.#ejected.has(backend);
  }

  /** Ends `backend`'s ejection without the hook: something else readmitted it. */
  release(backend: Backend): void {
    const entry = this.#entries.get(backend);
    if (entry && this.#ejected.has(backend)) this.#end(backend, entry);
    this.#arm();
  }

  /** Drops everything known about `backend` (it left the pool). */
  forget(backend: Backend): void {
    this.#entries.delete(backend);
    this.#ejected.delete(backend);
    this.#arm();
  }

  details(backend: Backend): OutlierDetails {
    const entry = this.#entries.get(backend);
    return {
      consecutiveFailures: entry?.consecutiveFailures ?? 0,
      ejected: this.#ejected.has(backend),
      ejections: entry?.ejections ?? 0,
      ejectedUntil: entry?.ejectedUntil,
    };
  }

  #eject(backend: Backend, entry: Entry): void {
    const allowed = Math.floor((this.#pool.size * this.#options.maxEjectedPercent) / 100);
    // At the cap the count keeps growing, so the next failure tries again once room frees up.
    if (this.#ejected.size >= allowed) return;
    const failures = entry.consecutiveFailures;
    entry.ejections++;
    this.ejections++;
    const durationMs = Math.min(this.#options.baseEjectionMs * entry.ejections, this.#options.maxEjectionMs);
    entry.ejectedUntil = this.#now() + durationMs;
    entry.consecutiveFailures = 0;
    this.#ejected.add(backend);
    this.#arm();
    this.#hooks.eject(backend, `${failures} consecutive failures; ejected for ${durationMs} ms`);
  }

  /** Points `#wakeAt` and the timer at the earliest ejection end (none when nothing is ejected). */
  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAt = Number.POSITIVE_INFINITY;
    for (const backend of this.#ejected) {
      this.#wakeAt = Math.min(this.#wakeAt, this.#entries.get(backend)?.ejectedUntil ?? 0);
    }
    if (this.#stopped || this.#wakeAt === Number.POSITIVE_INFINITY) return;
    this.#timer = setTimeout(this.#wake, Math.max(0, this.#wakeAt - this.#now()));
    this.#timer.unref();
  }

  #end(backend: Backend, entry: Entry): void {
    this.#ejected.delete(backend);
    entry.ejectedUntil = undefined;
    entry.consecutiveFailures = 0;
  }

  #entry(backend: Backend): Entry {
    let entry = this.#entries.get(backend);
    if (!entry) {
      entry = { consecutiveFailures: 0, ejections: 0, ejectedUntil: undefined };
      this.#entries.set(backend, entry);
    }
    return entry;
  }
}
