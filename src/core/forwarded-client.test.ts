import { describe, expect, it } from "vitest";
import { forwardedClient } from "./forwarded-client.js";

const trusted = (address: string): boolean => address.startsWith("10.");

describe("forwardedClient", () => {
  it("takes the rightmost address that is not a trusted proxy", () => {
    expect(forwardedClient("198.51.100.1, 192.0.2.9, 10.0.0.2, 10.0.0.1", trusted)).toBe("192.0.2.9");
  });

  it("joins repeated headers in order", () => {
    expect(forwardedClient(["192.0.2.9", "203.0.113.5, 10.0.0.1"], trusted)).toBe("203.0.113.5");
  });

  it("is undefined when every address is trusted or the header is empty", () => {
    expect(forwardedClient("10.0.0.2, 10.0.0.1", trusted)).toBeUndefined();
    expect(forwardedClient(" , ", trusted)).toBeUndefined();
    expect(forwardedClient("", trusted)).toBeUndefined();
    expect(forwardedClient(undefined, trusted)).toBeUndefined();
  });
});
