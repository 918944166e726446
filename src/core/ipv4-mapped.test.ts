import { describe, expect, it } from "vitest";
import { unmapIpv4 } from "./ipv4-mapped.js";

describe("unmapIpv4", () => {
  it("gives an IPv4-mapped IPv6 address as its IPv4 form", () => {
    expect(unmapIpv4("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(unmapIpv4("::ffff:8.8.8.8")).toBe("8.8.8.8");
  });

  it("leaves other addresses, and no address, as they are", () => {
    expect(unmapIpv4("8.8.8.8")).toBe("8.8.8.8");
    expect(unmapIpv4("::1")).toBe("::1");
    expect(unmapIpv4("::ffff:1")).toBe("::ffff:1");
    expect(unmapIpv4(undefined)).toBeUndefined();
  });
});
