/**
 * Lease-based routing (SwarmGuard's primary algorithm): every routed request
 * takes a lease on its backend that lives `leaseDurationMs` (default 30 s,
 * LEASE_DURATION); the ready backend with the fewest live leases per unit of
 * weight wins, ties rotate. No metrics query is needed, so the decision is
 * as cheap as least-connections. Leases expire lazily and exactly on the
 * injected clock (see `LeaseTable`); with `releaseOnFinish` a lease also ends
 * when its request finishes, which turns the count into in-flight work with
 * a 30 s safety net.
 */

import { z } from "zod";
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { durationMs } from "../core/duration.js";
import type { Outcome } from "../core/outcome.js";
import type { Accept, Selector, SelectorEnv } from "../core/selector.js";
import { DEFAULT_LEASE_DURATION_MS, LeaseTable } from "../load/leases.js";
import type { AlgorithmDefinition } from "./definition.js";
import { leastLoaded } from "./least-loaded.js";

export const leaseDurationSchema = durationMs(1, 86_400_000)
  .default(DEFAULT_LEASE_DURATION_MS)
  .describe("how long a routed request holds its lease, ms");

export const releaseOnFinishSchema = z
  .boolean()
  .default(false)
  .describe("also end a lease when its request finishes (lease count = in-flight work)");

const leaseOptions = z.strictObject({
  leaseDurationMs: leaseDurationSchema,
  releaseOnFinish: releaseOnFinishSchema,
});

/** Live leases per unit of weight; weight 0 is infinite (chosen only when nothing else is left). */
export function leasesPerWeight(leases: LeaseTable, backend: Backend): number {
  return backend.weight === 0 ? Number.POSITIVE_INFINITY : leases.count(backend) / backend.weight;
}

export class LeaseSelector implements Selector {
  readonly name = "lease";
  readonly leases: LeaseTable;
  #backends: readonly Backend[] = [];
  #offset = 0;
  #byLeases = { load: (backend: Backend) => leasesPerWeight(this.leases, backend) };

  constructor(options: z.output<typeof leaseOptions>, env: SelectorEnv) {
    this.leases = new LeaseTable({
      durationMs: options.leaseDurationMs,
      releaseOnFinish: options.releaseOnFinish,
      now: env.now,
    });
  }

  rebuild(backends: readonly Backend[]): void {
    this.#backends = backends;
    this.leases.retain(backends);
  }

  pick(_ctx: RequestContext, accept: Accept): Backend | undefined {
    const backends = this.#backends;
    const count = backends.length;
    if (count === 0) return undefined;
    this.#offset = this.#offset + 1 >= count ? 0 : this.#offset + 1;
    const best = leastLoaded(backends, accept, this.#byLeases, this.#offset);
    if (best) this.leases.acquire(best);
    return best;
  }

  observe(backend: Backend, _outcome: Outcome): void {
    this.leases.release(backend);
  }

  score(backend: Backend): number {
    return leasesPerWeight(this.leases, backend);
  }

  describe(backend: Backend): string {
    return `fewest live leases per weight (${this.leases.count(backend)} leases, weight ${backend.weight})`;
  }
}

export const lease: AlgorithmDefinition<z.output<typeof leaseOptions>> = {
  name: "lease",
  aliases: ["lease-based"],
  summary: "Fewest live leases per weight; every routed request holds a lease for 30 s.",
  reference: "SwarmGuard (lease-based routing)",
  options: leaseOptions,
  create: (options, env) => new LeaseSelector(options, env),
};
