/**
 * The outcome fan-out: every attempt opened or closed is announced to each
 * observer in the order they joined (counters first, the selector last, so an
 * algorithm sees the backend state its outcome produced). Adding a consumer
 * of outcomes means joining this list, not editing the balancer.
 */
import type { Backend } from "../core/backend.js";
import type { AttemptObserver, Outcome } from "../core/outcome.js";

export class AttemptObservers implements AttemptObserver {
  readonly #observers: AttemptObserver[] = [];

  join(observer: AttemptObserver): void {
    this.#observers.push(observer);
  }

  opened(backend: Backend): void {
    for (const observer of this.#observers) observer.opened?.(backend);
  }

  closed(backend: Backend, outcome: Outcome): void {
    for (const observer of this.#observers) observer.closed(backend, outcome);
  }
}
