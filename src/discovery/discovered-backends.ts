/**
 * The backends a discovery source put in a pool, and how a new list is
 * applied: backends that appear are added, those that vanish are removed
 * with draining (requests in flight finish), and a changed weight or enabled
 * switch is applied in place. A list is compared with the previous list, not
 * with the pool, so an operator's re-weighting or disabling through the
 * admin API stands until the list itself changes it. Backends the source did
 * not add are left alone: the pool's static ones, and an id still draining
 * (it joins on a later refresh, once gone). So is a discovered backend an
 * operator removed, until it leaves the list and comes back. Other fields
 * (address under an id, region, location, labels) are fixed once a backend
 * exists: a change to them is reported, not applied.
 */
import type { BackendSpec } from "../core/backend.js";
import type { Pool } from "../core/pool.js";
import type { WatchLogger } from "../core/watch-file.js";

const FIXED_FIELDS = ["address", "region", "latitude", "longitude", "labels"] as const;

/** What one `apply` changed in the pool (backend ids). */
export interface MembershipChanges {
  added: string[];
  draining: string[];
  reweighted: string[];
  /** Backends whose fixed fields changed in the list but not in the pool. */
  unapplied: string[];
}

export class DiscoveredBackends {
  readonly #pool: Pool;
  readonly #logger: WatchLogger;
  /** The last listed spec of each backend this discovery added, by id. */
  readonly #listed = new Map<string, BackendSpec>();

  constructor(pool: Pool, logger: WatchLogger) {
    this.#pool = pool;
    this.#logger = logger;
  }

  /** Backends currently owned (added by discovery and still listed). */
  get size(): number {
    return this.#listed.size;
  }

  /** Makes the pool follow `specs`; `from` names the source in the log. */
  apply(specs: readonly BackendSpec[], from: string, drainTimeoutMs?: number): MembershipChanges {
    const changes: MembershipChanges = { added: [], draining: [], reweighted: [], unapplied: [] };
    const wanted = new Map(specs.map((spec) => [spec.id ?? spec.address, spec]));
    for (const [id, spec] of wanted) {
      const previous = this.#listed.get(id);
      if (previous === undefined) {
        if (this.#pool.get(id) !== undefined) continue;
        this.#pool.add(spec);
        this.#listed.set(id, spec);
        changes.added.push(id);
        continue;
      }
      this.#listed.set(id, spec);
      if (this.#pool.get(id) === undefined) continue;
      if ((spec.weight ?? 1) !== (previous.weight ?? 1)) {
        this.#pool.setWeight(id, spec.weight ?? 1);
        changes.reweighted.push(id);
      }
      if ((spec.enabled ?? true) !== (previous.enabled ?? true)) {
        if (spec.enabled ?? true) this.#pool.enable(id);
        else this.#pool.disable(id);
      }
      if (FIXED_FIELDS.some((field) => JSON.stringify(spec[field]) !== JSON.stringify(previous[field]))) {
        changes.unapplied.push(id);
      }
    }
    for (const id of [...this.#listed.keys()]) {
      if (wanted.has(id)) continue;
      this.#listed.delete(id);
      if (this.#pool.get(id) === undefined) continue;
      changes.draining.push(id);
      this.#pool.remove(id, { drain: true, drainTimeoutMs }).catch(() => undefined);
    }
    this.#log(changes, from);
    return changes;
  }

  #log(changes: MembershipChanges, from: string): void {
    const { added, draining, reweighted, unapplied } = changes;
    if (added.length + draining.length + reweighted.length > 0) {
      this.#logger.info({ added, draining, reweighted }, `${from}: backends changed`);
    }
    if (unapplied.length > 0) {
      this.#logger.warn(
        { backends: unapplied },
        `${from}: address, region, location or labels changed for a backend already in the pool; not applied (list it under a new id to apply them)`,
      );
    }
  }
}
