import { describe, expect, it } from "vitest";
import { formatHostPort, parseAddress } from "./address.js";

describe("parseAddress", () => {
  it.each([
    ["127.0.0.1:9001", "127.0.0.1", 9001, "http://127.0.0.1:9001", false],
    ["10.0.0.9:80", "10.0.0.9", 80, "http://10.0.0.9:80", false],
    ["http://localhost:80", "localhost", 80, "http://localhost:80", false],
    ["http://localhost", "localhost", 80, "http://localhost:80", false],
    ["[::1]:9001", "::1", 9001, "http://[::1]:9001", false],
    ["http://[::1]:9002/", "::1", 9002, "http://[::1]:9002", false],
    ["https://api.test", "api.test", 443, "https://api.test:443", true],
    ["https://[::1]:9443", "::1", 9443, "https://[::1]:9443", true],
  ])("parses %s", (address, host, port, origin, tls) => {
    expect(parseAddress(address)).toEqual({ host, port, origin, tls });
  });

  it.each([
    ["127.0.0.1", "port"],
    ["127.0.0.1:0", "port"],
    ["127.0.0.1:70000", "address"],
    ["ftp://example.test:21", "only http"],
    ["127.0.0.1:80/path", "no path"],
    ["http://user:pw@127.0.0.1:80", "credentials"],
    ["http://:pw@127.0.0.1:80", "credentials"],
    ["", "address"],
  ])("rejects %s with a coded error", (address, fragment) => {
    expect(() => parseAddress(address)).toThrowError(
      expect.objectContaining({ code: "SY_ERR_INVALID_ADDRESS" }),
    );
    expect(() => parseAddress(address)).toThrow(fragment);
  });

  it("brackets IPv6 hosts when formatting", () => {
    expect(formatHostPort("::1", 80)).toBe("[::1]:80");
    expect(formatHostPort("127.0.0.1", 80)).toBe("127.0.0.1:80");
  });
});
