import { describe, expect, it } from "vitest";
import { RoutedSinceReport } from "./routed-since-report.js";

/** One selector scan that read fresh figures taken at `times`. */
function scan(tracker: RoutedSinceReport, times: readonly number[]): void {
  tracker.beginScan();
  for (const at of times) tracker.sampled(at);
  tracker.endScan();
}

function send(tracker: RoutedSinceReport, index: number, count: number): void {
  for (let i = 0; i < count; i++) tracker.routed(index);
}

describe("RoutedSinceReport", () => {
  it("scales a figure by 1 + sent since the report / sent over the interval before", () => {
    const tracker = new RoutedSinceReport();
    tracker.reset(2);
    scan(tracker, [1000, 1000]);
    send(tracker, 0, 40);
    send(tracker, 1, 10);
    scan(tracker, [2000, 2000]);
    expect(tracker.factor(0)).toBe(1);
    send(tracker, 0, 20);
    send(tracker, 1, 20);
    expect(tracker.factor(0)).toBe(1.5);
    expect(tracker.factor(1)).toBe(3);
    expect(tracker.describe(1)).toBe("20 sent since the report, 10 over the interval before");
  });

  it("starts a new interval only once every fresh figure is newer than the last round", () => {
    const tracker = new RoutedSinceReport();
    tracker.reset(2);
    scan(tracker, [1000, 1000]);
    send(tracker, 0, 10);
    send(tracker, 1, 10);
    // One agent has reported again, the other not yet: same interval.
    scan(tracker, [2000, 1000]);
    expect(tracker.factor(0)).toBe(11);
    // Both have: the 10 + 10 become the interval before.
    scan(tracker, [2000, 2010]);
    send(tracker, 0, 5);
    expect(tracker.factor(0)).toBe(1.5);
    // No fresh figures at all: nothing rolls.
    scan(tracker, []);
    expect(tracker.factor(0)).toBe(1.5);
  });

  it("credits a backend sent little last interval with a tenth of the mean, so one request is not its whole load", () => {
    const tracker = new RoutedSinceReport();
    tracker.reset(3);
    scan(tracker, [0, 0, 0]);
    send(tracker, 0, 200);
    send(tracker, 1, 100);
    scan(tracker, [1000, 1000, 1000]);
    tracker.routed(2);
    // Mean 100 a backend, floor 10: the idle backend's one request is a tenth of its interval.
    expect(tracker.factor(2)).toBeCloseTo(1.1);
    expect(tracker.describe(2)).toBe("1 sent since the report, 10 over the interval before");
  });

  it("forgets its counts when the backend list changes", () => {
    const tracker = new RoutedSinceReport();
    tracker.reset(2);
    scan(tracker, [0, 0]);
    send(tracker, 0, 30);
    tracker.reset(3);
    expect(tracker.factor(0)).toBe(1);
    tracker.routed(0);
    expect(tracker.factor(0)).toBe(2);
  });
});
