/**
 * The outcome fan-out: every attempt opened or closed is announced to each
 * observer in the order they joined (counters first, the selector last, so an
 * algorithm sees the backend state its outcome produced). Adding a consumer
 * of outcomes means joining this list, not editing the balancer.
 *
 * Each observer's methods are bound once, at join, and kept in two arrays of
 * functions: the hot path then makes plain indirect calls instead of looking
 * `opened`/`closed` up on objects of five different shapes.
 */
import type { Backend } from "../core/backend.js";
import type { AttemptObserver, Outcome } from "../core/outcome.js";

type Opened = (backend: Backend) => void;
type Closed = (backend: Backend, outcome: Outcome) => void;

export class AttemptObservers implements AttemptObserver {
  readonly #opened: Opened[] = [];
  readonly #closed: Closed[] = [];

  join(observer: AttemptObserver): void {
    if (observer.opened) this.#opened.push(observer.opened.bind(observer));
    this.#closed.push(observer.closed.bind(observer));
  }

  opened(backend: Backend): void {
    const opened = this.#opened;
    for (let i = 0; i < opened.length; i++) (opened[i] as Opened)(backend);
  }

  closed(backend: Backend, outcome: Outcome): void {
    const closed = this.#closed;
    for (let i = 0; i < closed.length; i++) (closed[i] as Closed)(backend, outcome);
  }
}
