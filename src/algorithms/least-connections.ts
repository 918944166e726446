/**
 * Weighted least-connections: the ready backend with the least work in flight
 * per unit of weight; ties go to the one picked least recently, so idle pools
 * rotate instead of piling onto the first backend.
 *
 * Backends sit in an indexed binary min-heap re-sorted when their in-flight
 * count changes (`loadChanged`), so the usual pick is the heap's top: O(1) to
 * read, O(log n) to update. A pick whose top the caller does not accept
 * (a failover: the top was tried) scans.
 */
import type { Backend } from "../core/backend.js";
import type { RequestContext } from "../core/context.js";
import type { Accept, Selector } from "../core/selector.js";
import { inFlightPerWeight } from "../load/in-flight.js";
import { type AlgorithmDefinition, noOptions } from "./definition.js";

/** A backend's place in the heap, and when it was last picked (for rotating ties). */
interface Entry {
  backend: Backend;
  position: number;
  lastPicked: number;
}

export class LeastConnectionsSelector implements Selector {
  readonly name: string = "least-connections";
  #heap: Entry[] = [];
  #entries = new Map<Backend, Entry>();
  #sequence = 0;

  rebuild(backends: readonly Backend[]): void {
    const previous = this.#entries;
    this.#entries = new Map();
    this.#heap = [];
    for (const backend of backends) {
      if (!backend.ready) continue;
      const entry = {
        backend,
        position: this.#heap.length,
        lastPicked: previous.get(backend)?.lastPicked ?? 0,
      };
      this.#entries.set(backend, entry);
      this.#heap.push(entry);
    }
    for (let i = (this.#heap.length >>> 1) - 1; i >= 0; i--) this.#down(i);
  }

  pick(_ctx: RequestContext, accept: Accept): Backend | undefined {
    const top = this.#heap[0];
    const entry = top && accept(top.backend) ? top : this.#scan(accept);
    if (!entry) return undefined;
    entry.lastPicked = ++this.#sequence;
    this.#down(entry.position);
    return entry.backend;
  }

  loadChanged(backend: Backend): void {
    const entry = this.#entries.get(backend);
    if (entry) this.#down(this.#up(entry.position));
  }

  score(backend: Backend): number {
    return inFlightPerWeight(backend);
  }

  describe(backend: Backend): string {
    return `least in flight per weight (${backend.inFlight} in flight, weight ${backend.weight})`;
  }

  /** Linear walk for the least-loaded accepted backend, used when the top is refused. */
  #scan(accept: Accept): Entry | undefined {
    let best: Entry | undefined;
    for (const entry of this.#heap) {
      if (accept(entry.backend) && (!best || less(entry, best))) best = entry;
    }
    return best;
  }

  #up(index: number): number {
    const heap = this.#heap;
    while (index > 0) {
      const parent = (index - 1) >>> 1;
      if (!less(heap[index] as Entry, heap[parent] as Entry)) break;
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
      if (left < heap.length && less(heap[left] as Entry, heap[smallest] as Entry)) smallest = left;
      if (right < heap.length && less(heap[right] as Entry, heap[smallest] as Entry)) smallest = right;
      if (smallest === index) return;
      this.#swap(index, smallest);
      index = smallest;
    }
  }

  #swap(i: number, j: number): void {
    const heap = this.#heap;
    const a = heap[i] as Entry;
    const b = heap[j] as Entry;
    heap[i] = b;
    heap[j] = a;
    b.position = i;
    a.position = j;
  }
}

/** Less load per weight first; equal loads go to the one picked longest ago. */
function less(a: Entry, b: Entry): boolean {
  const loadA = inFlightPerWeight(a.backend);
  const loadB = inFlightPerWeight(b.backend);
  if (loadA !== loadB) return loadA < loadB;
  return a.lastPicked < b.lastPicked;
}

export const leastConnections: AlgorithmDefinition = {
  name: "least-connections",
  aliases: ["lc", "least-conn", "weighted-least-connections", "least_connections"],
  summary: "Fewest requests in flight per unit of weight; ties rotate.",
  reference: "HAProxy leastconn, nginx least_conn",
  options: noOptions,
  create: () => new LeastConnectionsSelector(),
};
