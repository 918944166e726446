/**
 * The last N routing decisions of a pool, for `GET /api/explain` and the
 * dashboard. Every `sample`-th decision is written into a preallocated slot
 * (the oldest is overwritten): the decision itself, the backend it chose, the
 * algorithm, how long choosing took, the pool snapshot it chose from, and
 * each candidate's score and readiness at that moment. Writing a slot costs
 * a few stores plus, for an algorithm that scores, one `score()` call per
 * candidate (about 20 ns each): O(pool size), so pools larger than
 * `maxScored` skip the scores at decision time and show the scores current
 * when the explanation is read instead (`scoresAt: "read"`).
 * The reason text is built when the decision is kept, not when it is read:
 * the algorithm's figures (and BETA1's last pick) move on, and a reason
 * rendered later would disagree with the scores recorded beside it.
 * Set `sample` to 0 to keep nothing, or to e.g. 100 on a busy large pool.
 */
import type { Backend } from "../core/backend.js";
import type { CandidateScore, Decision } from "../core/decision.js";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import type { Selector } from "../core/selector.js";

export const DEFAULT_EXPLAIN_CAPACITY = 100;
export const DEFAULT_EXPLAIN_SAMPLE = 1;
export const DEFAULT_EXPLAIN_MAX_SCORED = 64;

export interface DecisionRingOptions {
  /** Keep every Nth decision; 0 keeps none. Default 1 (every one). */
  sample?: number;
  /** Decisions kept; default 100. */
  capacity?: number;
  /** Largest pool whose scores are captured at decision time; default 64. */
  maxScored?: number;
}

/** One kept decision, as `/api/explain` returns it. */
export interface ExplainedDecision {
  /** Decisions kept so far in this pool, this one included (gaps show sampling). */
  seq: number;
  /** When, on the balancer's clock (ms). */
  at: number;
  /** Wall-clock time, when the balancer runs on the default clock. */
  time: string | undefined;
  algorithm: string;
  /** The listener route the request took, when it came through an HTTP listener. */
  route: string | undefined;
  /** The backend chosen first. */
  backend: string;
  /** Why it won, in the algorithm's words, as they were when it was chosen. */
  reason: string;
  /** Every backend tried for this request so far, in order (failovers, hedges). */
  attempts: string[];
  selectionNs: number;
  /** Every pool member when the decision was made, with its score (lower is better) and readiness. */
  candidates: CandidateScore[];
  /** `decision`: scores as they were; `read`: pool too large to capture, scores as they are now. */
  scoresAt: "decision" | "read";
}

interface Slot {
  seq: number;
  at: number;
  decision: Decision | undefined;
  backend: string;
  algorithm: string;
  reason: string;
  selectionNs: number;
  candidates: readonly Backend[];
  scores: Float64Array;
  ready: Uint8Array;
  scored: boolean;
}

const NO_CANDIDATES: readonly Backend[] = Object.freeze([]);

export class DecisionRing {
  readonly sample: number;
  readonly capacity: number;
  readonly maxScored: number;
  #slots: Slot[];
  #next = 0;
  #kept = 0;
  #countdown: number;

  constructor(options: DecisionRingOptions = {}) {
    this.sample = nonNegativeInteger("sample", options.sample ?? DEFAULT_EXPLAIN_SAMPLE);
    this.capacity = Math.max(1, nonNegativeInteger("capacity", options.capacity ?? DEFAULT_EXPLAIN_CAPACITY));
    this.maxScored = nonNegativeInteger("maxScored", options.maxScored ?? DEFAULT_EXPLAIN_MAX_SCORED);
    this.#countdown = this.sample;
    this.#slots = this.sample === 0 ? [] : Array.from({ length: this.capacity }, emptySlot);
  }

  /** Decisions kept since the start (older ones are overwritten). */
  get kept(): number {
    return this.#kept;
  }

  /**
   * Counts one decision and keeps it when its turn in the sampling comes.
   * `candidates` is the pool snapshot it chose from; `selector` is the
   * algorithm that chose (its `score`, when it has one, is read per candidate).
   * Call it before the attempt opens, so scores and reason show what the pick saw.
   */
  offer(
    decision: Decision,
    at: number,
    candidates: readonly Backend[],
    selector: Pick<Selector, "score">,
  ): void {
    if (this.sample === 0 || --this.#countdown > 0) return;
    this.#countdown = this.sample;
    const slot = this.#slots[this.#next] as Slot;
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
    slot.seq = ++this.#kept;
    slot.at = at;
    slot.decision = decision;
    slot.backend = decision.backend.id;
    slot.algorithm = decision.algorithm;
    slot.reason = decision.reason();
    slot.selectionNs = decision.selectionNs;
    slot.candidates = candidates;
    slot.scored = candidates.length <= this.maxScored;
    if (!slot.scored) return;
    if (slot.scores.length < candidates.length) {
      slot.scores = new Float64Array(candidates.length);
      slot.ready = new Uint8Array(candidates.length);
    }
    for (let index = 0; index < candidates.length; index++) {
      const backend = candidates[index] as Backend;
      slot.scores[index] = selector.score === undefined ? Number.NaN : selector.score(backend);
      slot.ready[index] = backend.ready ? 1 : 0;
    }
  }

  /**
   * The kept decisions, newest first, at most `limit`. `toTime` turns a clock
   * reading into wall-clock ms when it can.
   */
  recent(limit: number = this.capacity, toTime?: (at: number) => number): ExplainedDecision[] {
    const result: ExplainedDecision[] = [];
    const count = Math.min(limit, this.#kept, this.capacity);
    for (let back = 1; back <= count; back++) {
      const slot = this.#slots[(this.#next - back + this.capacity) % this.capacity] as Slot;
      const decision = slot.decision as Decision;
      result.push({
        seq: slot.seq,
        at: round(slot.at),
        time: toTime ? new Date(toTime(slot.at)).toISOString() : undefined,
        algorithm: slot.algorithm,
        route: decision.ctx.route,
        backend: slot.backend,
        reason: slot.reason,
        attempts: decision.attempts.map((backend) => backend.id),
        selectionNs: Math.round(slot.selectionNs),
        candidates: slot.scored
          ? slot.candidates.map((backend, index) => ({
              id: backend.id,
              score: finite(slot.scores[index] as number),
              ready: slot.ready[index] === 1,
            }))
          : decision.explain().candidates,
        scoresAt: slot.scored ? "decision" : "read",
      });
    }
    return result;
  }
}

function emptySlot(): Slot {
  return {
    seq: 0,
    at: 0,
    decision: undefined,
    backend: "",
    algorithm: "",
    reason: "",
    selectionNs: 0,
    candidates: NO_CANDIDATES,
    scores: new Float64Array(8),
    ready: new Uint8Array(8),
    scored: false,
  };
}

function finite(value: number): number | undefined {
  return Number.isNaN(value) ? undefined : value;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function nonNegativeInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `metrics.explain.${field} must be a whole number of at least 0`,
      { [field]: value },
    );
  }
  return value;
}
