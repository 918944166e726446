import { describe, expect, it } from "vitest";
import { AllowedHosts } from "./allowed-hosts.js";

describe("AllowedHosts", () => {
  it("allows localhost, IP addresses and the listen host, ports and case aside", () => {
    const hosts = new AllowedHosts("admin.internal");
    for (const host of ["localhost:9090", "127.0.0.1", "[::1]:9090", "192.0.2.7", "Admin.Internal:9090"]) {
      expect(hosts.allows(host), host).toBe(true);
    }
    expect(hosts.allows("attacker.example")).toBe(false);
    expect(hosts.allows("admin.internal.attacker.example")).toBe(false);
  });

  it("allows the configured names, or anything with *", () => {
    const hosts = new AllowedHosts("0.0.0.0", ["lb.example", "[::1]"]);
    expect(hosts.allows("lb.example.")).toBe(true);
    expect(hosts.allows("www.lb.example")).toBe(false);
    expect(new AllowedHosts("::", ["*"]).allows("anything.example")).toBe(true);
  });

  it("refuses malformed Host headers and passes a request without one (HTTP/1.0)", () => {
    const hosts = new AllowedHosts("127.0.0.1");
    for (const host of ["", "a b", "user@127.0.0.1", "127.0.0.1/x", "localhost:port"]) {
      expect(hosts.allows(host), host).toBe(false);
    }
    expect(hosts.allows(undefined)).toBe(true);
  });

  it("throws a 421 coded error naming the Host", () => {
    expect(() => new AllowedHosts("127.0.0.1").check("evil.example")).toThrowError(
      expect.objectContaining({ status: 421, code: "SY_ERR_HOST_NOT_ALLOWED" }),
    );
  });
});
