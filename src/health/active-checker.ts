/**
 * Active health checking for one pool: every backend gets its own check loop
 * (a single unref'd timer at a time, so checking never keeps the process
 * alive), runs the configured check under a timeout, and feeds the result to
 * its `HealthState`. Probe state changes go to `onTransition`; writing them
 * into the pool is the health monitor's job. Backends added to the pool are
 * picked up, removed ones dropped with their check resources. Checks start at
 * once on `start()` and then follow the interval with jitter, backing off
 * while a backend stays unhealthy.
 */
import type { Backend } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import type { CheckOutcome, HealthCheck } from "./check.js";
import type { HealthCheckSettings } from "./health-options.js";
import { HealthState, type ProbeDetails, type ProbeState, type ProbeTransition } from "./health-state.js";

export interface ActiveCheckerOptions {
  settings: HealthCheckSettings;
  check: HealthCheck;
  /** Millisecond clock (latency, last-check times). */
  now: () => number;
  /** Random source in [0, 1) for interval jitter. */
  random: () => number;
  /** A backend's probe state changed. */
  onTransition: (backend: Backend, transition: ProbeTransition) => void;
  /** Checking began for a backend: its probe state is unknown until the first check ends. */
  onWatched: (backend: Backend) => void;
}

interface Entry {
  backend: Backend;
  state: HealthState;
  timer: NodeJS.Timeout | undefined;
  controller: AbortController | undefined;
  running: Promise<void> | undefined;
}

export class ActiveChecker {
  readonly kind: string;
  #pool: Pool;
  #options: ActiveCheckerOptions;
  #entries = new Map<Backend, Entry>();
  #running = false;
  #onAdded = (backend: Backend) => this.#watch(backend);
  #onRemoved = (backend: Backend) => this.#unwatch(backend);

  constructor(pool: Pool, options: ActiveCheckerOptions) {
    this.#pool = pool;
    this.#options = options;
    this.kind = options.check.kind;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Starts a check loop for every backend, now and as they join; idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#pool.on("added", this.#onAdded);
    this.#pool.on("removed", this.#onRemoved);
    for (const backend of this.#pool.backends) this.#watch(backend);
  }

  /** Stops every loop, aborts checks in flight, waits for them, and frees check resources. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#pool.off("added", this.#onAdded);
    this.#pool.off("removed", this.#onRemoved);
    const pending: Promise<void>[] = [];
    for (const entry of this.#entries.values()) {
      this.#halt(entry);
      if (entry.running) pending.push(entry.running);
    }
    await Promise.allSettled(pending);
    await this.#options.check.close?.();
  }

  /** The backend's probe state (unknown until its first check ends); undefined when not checked. */
  probeState(backend: Backend): ProbeState | undefined {
    return this.#entries.get(backend)?.state.state;
  }

  details(backend: Backend): ProbeDetails | undefined {
    return this.#entries.get(backend)?.state.details();
  }

  #watch(backend: Backend): void {
    if (!this.#running || this.#pool.get(backend.id) !== backend) return;
    let entry = this.#entries.get(backend);
    if (!entry) {
      const { rise, fall, degradedLatencyMs } = this.#options.settings;
      entry = {
        backend,
        state: new HealthState({ rise, fall, degradedLatencyMs }),
        timer: undefined,
        controller: undefined,
        running: undefined,
      };
      this.#entries.set(backend, entry);
      this.#options.onWatched(backend);
    }
    if (!entry.timer && !entry.running) this.#schedule(entry, 0);
  }

  #unwatch(backend: Backend): void {
    const entry = this.#entries.get(backend);
    if (!entry) return;
    this.#entries.delete(backend);
    this.#halt(entry);
    this.#options.check.release?.(backend);
  }

  #halt(entry: Entry): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.controller?.abort();
  }

  #schedule(entry: Entry, delayMs: number): void {
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      entry.running = this.#run(entry).finally(() => {
        entry.running = undefined;
      });
    }, delayMs);
    entry.timer.unref();
  }

  async #run(entry: Entry): Promise<void> {
    const { settings, check, now, random } = this.#options;
    const controller = new AbortController();
    entry.controller = controller;
    const timeout = setTimeout(() => controller.abort(), settings.timeoutMs);
    timeout.unref();
    const timedOut = new Promise<CheckOutcome>((resolve) => {
      controller.signal.addEventListener(
        "abort",
        () => resolve({ ok: false, detail: `timed out after ${settings.timeoutMs} ms` }),
        { once: true },
      );
    });
    const started = now();
    let outcome: CheckOutcome;
    try {
      outcome = await Promise.race([
        check
          .check(entry.backend, controller.signal)
          .catch((error: unknown): CheckOutcome => ({ ok: false, detail: describeError(error) })),
        timedOut,
      ]);
    } finally {
      clearTimeout(timeout);
    }
    // Stopped, removed or restarted meanwhile: this result belongs to nobody.
    if (!this.#running || entry.controller !== controller || this.#entries.get(entry.backend) !== entry)
      return;
    if (controller.signal.aborted)
      outcome = { ok: false, detail: `timed out after ${settings.timeoutMs} ms` };
    entry.controller = undefined;
    const transition = entry.state.record({ ...outcome, latencyMs: now() - started }, now());
    if (transition) this.#options.onTransition(entry.backend, transition);
    if (this.#running && this.#entries.get(entry.backend) === entry)
      this.#schedule(entry, entry.state.nextDelayMs(settings, random));
  }
}

function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === "string") return code;
  return error instanceof Error ? error.message : String(error);
}
