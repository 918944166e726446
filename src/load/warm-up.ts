/**
 * Warm-up ramp for backends that join a running pool (slow start, as in
 * Envoy's `slow_start_config` and NGINX's `slow_start`): a new member starts
 * at `minShare` of its weight and climbs linearly to its full weight over
 * `durationMs`. Members present when the pool was first seen (or added to an
 * empty pool) start at full weight: there is nothing warm to protect them
 * from. The ramp moves in `STEPS` steps, so whatever is derived from the
 * weights (memoized rankings) changes once a step, not on every request.
 *
 * Start times are kept by id across membership syncs, so a health flap or a
 * weight change does not restart a ramp; a removed and re-added id ramps
 * again. `advance` allocates nothing.
 */

/** Steps of a ramp: each moves a member's weight by 1% of its span. */
export const WARMUP_STEPS = 100;

/** Receives weight shares as a ramp advances. */
export interface WarmupTarget {
  /** Member `index` should now weigh `share` (minShare … 1) of its weight. */
  setWeightShare(index: number, share: number): void;
}

export class WarmupRamp {
  readonly durationMs: number;
  readonly minShare: number;
  #ids: readonly string[] = [];
  #startedAt = new Map<string, number>();
  #start = new Float64Array(0);
  #step = new Int32Array(0);
  #warming = new Int32Array(0);
  #count = 0;

  /** `durationMs` 0 turns warm-up off. */
  constructor(durationMs: number, minShare: number) {
    this.durationMs = durationMs;
    this.minShare = minShare;
  }

  /** Members still ramping. */
  get active(): number {
    return this.#count;
  }

  /** The membership changed: `ids` index-aligned with the selector's members. */
  sync(ids: readonly string[], now: number): void {
    const previous = new Set(this.#ids);
    const running = this.#ids.length > 0;
    const startedAt = new Map<string, number>();
    this.#start = new Float64Array(ids.length);
    this.#step = new Int32Array(ids.length).fill(-1);
    this.#warming = new Int32Array(ids.length);
    this.#count = 0;
    ids.forEach((id, i) => {
      const started = previous.has(id) ? this.#startedAt.get(id) : running ? now : undefined;
      if (this.durationMs <= 0 || started === undefined) return;
      startedAt.set(id, started);
      this.#start[i] = started;
      this.#warming[this.#count++] = i;
    });
    this.#ids = ids;
    this.#startedAt = startedAt;
  }

  /**
   * Sends `target` the share of every member whose step changed since the
   * last call; members done ramping get share 1 and leave. Returns whether
   * any share changed.
   */
  advance(now: number, target: WarmupTarget): boolean {
    let changed = false;
    let j = 0;
    while (j < this.#count) {
      const i = this.#warming[j] as number;
      const elapsed = (now - (this.#start[i] as number)) / this.durationMs;
      const step = Math.min(WARMUP_STEPS, Math.max(0, Math.floor(elapsed * WARMUP_STEPS)));
      if (step !== this.#step[i]) {
        this.#step[i] = step;
        target.setWeightShare(i, this.minShare + ((1 - this.minShare) * step) / WARMUP_STEPS);
        changed = true;
      }
      if (step === WARMUP_STEPS) {
        this.#startedAt.delete(this.#ids[i] as string);
        this.#warming[j] = this.#warming[--this.#count] as number;
        continue;
      }
      j++;
    }
    return changed;
  }

  /** How far `id` is through its ramp, 0 … 1 (1 when not ramping). */
  progress(id: string, now: number): number {
    const started = this.#startedAt.get(id);
    if (started === undefined) return 1;
    return Math.min(1, Math.max(0, (now - started) / this.durationMs));
  }

  /** Members still ramping, with their progress. */
  warming(now: number): { id: string; progress: number }[] {
    const list: { id: string; progress: number }[] = [];
    for (let j = 0; j < this.#count; j++) {
      const id = this.#ids[this.#warming[j] as number] as string;
      const progress = this.progress(id, now);
      if (progress < 1) list.push({ id, progress });
    }
    return list;
  }
}
