import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventQueue, IntFifo } from "./event-queue.js";

describe("EventQueue", () => {
  it("pops events in time order, ties in push order, across growth", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 3000 }), (times) => {
        const queue = new EventQueue(4);
        times.forEach((time, i) => {
          queue.push(time, i % 7, i, 2 * i + 1);
        });
        const expected = times.map((time, i) => ({ time, i })).sort((x, y) => x.time - y.time || x.i - y.i);
        for (const { time, i } of expected) {
          expect(queue.pop()).toBe(true);
          expect([queue.time, queue.kind, queue.a, queue.b]).toEqual([time, i % 7, i, 2 * i + 1]);
        }
        expect(queue.pop()).toBe(false);
        expect(queue.size).toBe(0);
      }),
      { numRuns: 50 },
    );
  });

  it("interleaves pushes and pops like a priority queue", () => {
    const queue = new EventQueue(2);
    const popped: number[] = [];
    queue.push(5, 0, 5, 0);
    queue.push(1, 0, 1, 0);
    queue.pop();
    popped.push(queue.a);
    queue.push(3, 0, 3, 0);
    queue.push(0.5, 0, 0, 0);
    while (queue.pop()) popped.push(queue.a);
    expect(popped).toEqual([1, 0, 3, 5]);
  });
});

describe("IntFifo", () => {
  it("keeps first-in first-out order while wrapping and growing", () => {
    const fifo = new IntFifo();
    const model: number[] = [];
    let next = 0;
    for (let round = 0; round < 2000; round++) {
      const pushes = (round * 7) % 13;
      for (let i = 0; i < pushes; i++) {
        fifo.push(next);
        model.push(next++);
      }
      const shifts = (round * 5) % 11;
      for (let i = 0; i < shifts; i++) expect(fifo.shift()).toBe(model.shift() ?? -1);
      expect(fifo.size).toBe(model.length);
    }
  });
});
