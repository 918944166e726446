import { describe, expect, it } from "vitest";
import { demoBackendPorts } from "./demo-ports.js";

describe("demoBackendPorts", () => {
  it("lets the OS pick when no port is given", () => {
    expect(demoBackendPorts(undefined, undefined)).toEqual([0, 0, 0]);
    expect(demoBackendPorts(undefined, 2)).toEqual([0, 0]);
  });

  it("pins each backend to a listed port, the list setting the count", () => {
    expect(demoBackendPorts([9001, 9002, 9005], undefined)).toEqual([9001, 9002, 9005]);
    expect(demoBackendPorts([9001, 9002], 2)).toEqual([9001, 9002]);
  });

  it("counts up from one base port", () => {
    expect(demoBackendPorts([9001], undefined)).toEqual([9001, 9002, 9003]);
    expect(demoBackendPorts([9001], 5)).toEqual([9001, 9002, 9003, 9004, 9005]);
  });

  it("refuses lists that disagree with --backends, repeat a port or run out of ports", () => {
    expect(() => demoBackendPorts([9001, 9002], 3)).toThrow(/lists 2 ports but --backends asks for 3/);
    expect(() => demoBackendPorts([9001, 9001], undefined)).toThrow(/lists a port twice/);
    expect(() => demoBackendPorts([65_534], 3)).toThrow(/would go past port 65535/);
  });
});
