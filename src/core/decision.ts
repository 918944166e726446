/**
 * A routing decision: the backend chosen for a request, how long choosing took,
 * and the way to the next candidate when the attempt fails. Candidates come
 * lazily: `next()` asks the selector again with the tried backends excluded,
 * so a request that never fails costs one pick.
 */
import type { Backend } from "./backend.js";
import type { RequestContext } from "./context.js";
import type { Outcome } from "./outcome.js";

/** What a decision needs from its balancer; kept narrow so decisions stay testable. */
export interface AttemptHost {
  /**
   * Picks the next candidate, excluding `tried`, and opens an attempt on it;
   * `hedge` says the attempt runs beside an open one rather than replacing it;
   * `startedAt` is when the request's first attempt was chosen (performance clock, ms).
   */
  pickNext(
    ctx: RequestContext,
    tried: readonly Backend[],
    hedge: boolean,
    startedAt: number,
  ): Backend | undefined;
  /** Closes the attempt on `backend` with its outcome. */
  close(backend: Backend, outcome: Outcome): void;
  /** Why the decision's current backend was chosen, in the algorithm's words, as things stand now. */
  reason(decision: Decision): string;
  /** Why `backend` was chosen and the scores of the other candidates. */
  explain(decision: Decision): DecisionExplanation;
}

/**
 * The session a request was bound to by session affinity (cookie, client IP or
 * header), carried by its decision so the proxy asks it directly.
 */
export interface SessionPin {
  /**
   * The Set-Cookie value the response from `backend` must carry, if any (a new
   * pin, a migration or a sliding renewal); when the request failed over, the
   * session is re-pinned to `backend`, the one that answered.
   */
  cookie(backend: Backend): string | undefined;
  /** Why the request went to `backend`, when the session pin decided it. */
  reason(backend: Backend): string | undefined;
}

export interface CandidateScore {
  id: string;
  score: number | undefined;
  ready: boolean;
}

export interface DecisionExplanation {
  algorithm: string;
  backend: string;
  reason: string;
  attempts: string[];
  selectionNs: number;
  candidates: CandidateScore[];
}

export class Decision {
  readonly ctx: RequestContext;
  readonly algorithm: string;
  /** Time spent choosing the first backend, in nanoseconds. */
  readonly selectionNs: number;
  /** When the request's first backend was chosen (performance clock, ms): failover times count from here. */
  readonly startedAt: number;
  /** The session affinity bound the request to, when affinity is on; hedges share it. */
  readonly session: SessionPin | undefined;
  #host: AttemptHost;
  #backend: Backend;
  #tried: Backend[] | undefined;
  #open = true;

  constructor(
    host: AttemptHost,
    ctx: RequestContext,
    algorithm: string,
    backend: Backend,
    selectionNs: number,
    startedAt: number,
    session?: SessionPin,
    tried?: Backend[],
  ) {
    this.session = session;
    this.#tried = tried;
    this.#host = host;
    this.ctx = ctx;
    this.algorithm = algorithm;
    this.#backend = backend;
    this.selectionNs = selectionNs;
    this.startedAt = startedAt;
  }

  /** The backend of the current attempt. */
  get backend(): Backend {
    return this.#backend;
  }

  /** Every backend tried so far, the current one last. */
  get attempts(): readonly Backend[] {
    return this.#tried ?? [this.#backend];
  }

  /** False once the current attempt has been reported. */
  get open(): boolean {
    return this.#open;
  }

  /**
   * Moves to the next candidate in preference order and opens an attempt on it.
   * An attempt still open is closed as failed first. Returns undefined when no
   * untried ready backend is left.
   */
  next(): Backend | undefined {
    if (this.#open) this.finish({ error: "abandoned for the next candidate" });
    this.#tried ??= [this.#backend];
    const backend = this.#host.pickNext(this.ctx, this.#tried, false, this.startedAt);
    if (!backend) return undefined;
    this.#tried.push(backend);
    this.#backend = backend;
    this.#open = true;
    return backend;
  }

  /**
   * Hedging: opens a second attempt on the next candidate while this one stays
   * open, and returns it as its own decision (finish each one separately; the
   * caller takes the first answer and cancels the other). Both share the
   * tried list, so neither fails over onto the other's backend. Undefined when
   * no untried ready backend is left.
   */
  hedge(): Decision | undefined {
    this.#tried ??= [this.#backend];
    const backend = this.#host.pickNext(this.ctx, this.#tried, true, this.startedAt);
    if (!backend) return undefined;
    this.#tried.push(backend);
    return new Decision(
      this.#host,
      this.ctx,
      this.algorithm,
      backend,
      0,
      this.startedAt,
      this.session,
      this.#tried,
    );
  }

  /** Lazily yields the chosen backend, then each next candidate. */
  *candidates(): Generator<Backend, void, undefined> {
    yield this.#backend;
    for (let backend = this.next(); backend; backend = this.next()) yield backend;
  }

  /** Reports the current attempt's outcome; later calls for the same attempt are ignored. */
  finish(outcome: Outcome): void {
    if (!this.#open) return;
    this.#open = false;
    this.#host.close(this.#backend, outcome);
  }

  /** Why the current backend won, from the algorithm's state now: keep the text to show it later. */
  reason(): string {
    return this.#host.reason(this);
  }

  explain(): DecisionExplanation {
    return this.#host.explain(this);
  }
}
