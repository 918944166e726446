/**
 * Weighted least-connections: the ready backend with the least work in flight
 * per unit of weight; ties go to the one picked least recently, so idle pools
 * rotate instead of piling onto the first backend.
 *
 * Backends sit in an indexed binary min-heap re-sorted when their in-flight
 * count changes (`loadChanged`), so the usual pick is the heap's top: O(1) to
 * read, O(log n) to update. A failover pick (top already tried) scans.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import { isEligible, type Selector } from "../core/selector.js";
import { inFlightPerWeight } from "../load/in-flight.js";
import { type AlgorithmDefinition, noOptions } from "./registry.js";

export class LeastConnectionsSelector implements Selector {
  readonly name: string = "least-connections";
  #heap: Backend[] = [];
  #position = new Map<Backend, number>();
  #lastPicked = new WeakMap<Backend, number>();
  #sequence = 0;

  rebuild(backends: readonly Backend[]): void {
    this.#heap = backends.filter((backend) => backend.ready);
    this.#position.clear();
    this.#heap.forEach((backend, i) => {
      this.#position.set(backend, i);
    });
    for (let i = (this.#heap.length >>> 1) - 1; i >= 0; i--) this.#down(i);
  }

  pick(_ctx: RequestContext, tried: readonly Backend[]): Backend | undefined {
    const top = this.#heap[0];
    const backend = top && isEligible(top, tried) ? top : this.#scan(tried);
    if (backend) {
      this.#lastPicked.set(backend, ++this.#sequence);
      this.loadChanged(backend);
    }
    return backend;
  }

  loadChanged(backend: Backend): void {
    const index = this.#position.get(backend);
    if (index === undefined) return;
    this.#down(this.#up(index));
  }

  score(backend: Backend): number {
    return inFlightPerWeight(backend);
  }

  describe(backend: Backend): string {
    return `least in flight per weight (${backend.inFlight} in flight, weight ${backend.weight})`;
  }

  /** Linear walk for the least-loaded eligible backend, used when the top is excluded. */
  #scan(tried: readonly Backend[]): Backend | undefined {
    let best: Backend | undefined;
    for (const backend of this.#heap) {
      if (isEligible(backend, tried) && (!best || this.#less(backend, best))) best = backend;
    }
    return best;
  }

  #less(a: Backend, b: Backend): boolean {
    const loadA = inFlightPerWeight(a);
    const loadB = inFlightPerWeight(b);
    if (loadA !== loadB) return loadA < loadB;
    return (this.#lastPicked.get(a) ?? 0) < (this.#lastPicked.get(b) ?? 0);
  }

  #up(index: number): number {
    const heap = this.#heap;
    while (index > 0) {
      const parent = (index - 1) >>> 1;
      if (!this.#less(heap[index] as Backend, heap[parent] as Backend)) break;
      this.#swap(index, parent);
      index = parent;
    }
    return index;
  }

  #down(index: number): void {
    const heap = this.#heap;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && this.#less(heap[left] as Backend, heap[smallest] as Backend)) smallest = left;
      if (right < heap.length && this.#less(heap[right] as Backend, heap[smallest] as Backend))
        smallest = right;
      if (smallest === index) return;
      this.#swap(index, smallest);
      index = smallest;
    }
  }

  #swap(i: number, j: number): void {
    const heap = this.#heap;
    const a = heap[i] as Backend;
    const b = heap[j] as Backend;
    heap[i] = b;
    heap[j] = a;
    this.#position.set(b, i);
    this.#position.set(a, j);
  }
}

export const leastConnections: AlgorithmDefinition = {
  name: "least-connections",
  aliases: ["lc", "least-conn", "weighted-least-connections"],
  summary: "Fewest requests in flight per unit of weight; ties rotate.",
  reference: "HAProxy leastconn, nginx least_conn",
  options: noOptions,
  create: () => new LeastConnectionsSelector(),
};
