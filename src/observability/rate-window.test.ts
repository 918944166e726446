import { describe, expect, it } from "vitest";
import { PerSecondCounter } from "./rate-window.js";

describe("PerSecondCounter", () => {
  it("rates complete seconds over 1, 10 and 60 s windows", () => {
    const counter = new PerSecondCounter(0);
    for (let index = 0; index < 5; index++) counter.increment(0);
    // Second 0 is still running: nothing complete yet.
    expect(counter.rates(0)).toEqual({ "1s": 0, "10s": 0, "60s": 0 });
    for (let index = 0; index < 3; index++) counter.increment(1);
    expect(counter.rates(1)).toEqual({ "1s": 5, "10s": 5, "60s": 5 });
    expect(counter.rates(2)).toEqual({ "1s": 3, "10s": 4, "60s": 4 });
    // Ten seconds later the first two seconds fall out of the 10 s window, not the 60 s one.
    expect(counter.rates(12)).toEqual({ "1s": 0, "10s": 0, "60s": 0.667 });
  });

  it("clears the seconds it skips, also across a gap longer than the ring", () => {
    const counter = new PerSecondCounter(100);
    for (let second = 100; second < 170; second++) counter.increment(second);
    expect(counter.rate(170, 60)).toBe(1);
    counter.increment(500);
    counter.increment(500);
    expect(counter.rates(501)).toEqual({ "1s": 2, "10s": 0.2, "60s": 0.033 });
  });

  it("counts an event from a clock that went back into the current second", () => {
    const counter = new PerSecondCounter(10);
    counter.increment(10);
    counter.increment(9);
    expect(counter.rate(11, 1)).toBe(2);
  });
});
