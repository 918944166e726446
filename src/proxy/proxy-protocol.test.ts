import net from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  encodeProxyHeader,
  PROXY_V2_MAX_BYTES,
  type ProxiedConnection,
  readProxyHeader,
} from "./proxy-protocol.js";

const SIGNATURE = "0d0a0d0a000d0a515549540a";
const v2 = (hex: string) => Buffer.from(SIGNATURE + hex.replace(/\s/g, ""), "hex");
const text = (line: string) => Buffer.from(line, "latin1");

const ipv4Connection: ProxiedConnection = {
  sourceAddress: "192.0.2.7",
  sourcePort: 51_000,
  destinationAddress: "198.51.100.1",
  destinationPort: 443,
};

describe("readProxyHeader", () => {
  it("reads a v1 TCP4 line and says where the payload starts", () => {
    const bytes = text("PROXY TCP4 192.0.2.7 198.51.100.1 51000 443\r\nGET / HTTP/1.1\r\n");
    expect(readProxyHeader(bytes)).toEqual({ status: "done", length: 45, connection: ipv4Connection });
  });

  it("reads v1 TCP6, and UNKNOWN as no addresses", () => {
    expect(readProxyHeader(text("PROXY TCP6 2001:db8::7 2001:db8::1 1 65535\r\n"))).toEqual({
      status: "done",
      length: 44,
      connection: {
        sourceAddress: "2001:db8::7",
        sourcePort: 1,
        destinationAddress: "2001:db8::1",
        destinationPort: 65_535,
      },
    });
    expect(
      readProxyHeader(text("PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\nrest")),
    ).toEqual({
      status: "done",
      length: 59,
      connection: undefined,
    });
  });

  it("reads v2 PROXY over IPv4 and IPv6, skipping TLVs", () => {
    // 192.0.2.7:51000 → 198.51.100.1:443, then a 3-byte NOOP TLV.
    const ipv4 = v2("21 11 000f c0000207 c6336401 c738 01bb 04 0000");
    expect(readProxyHeader(Buffer.concat([ipv4, text("payload")]))).toEqual({
      status: "done",
      length: 31,
      connection: ipv4Connection,
    });
    const ipv6 = v2(`21 21 0024 20010db8000000000000000000000007 20010db8000000000000000000000001 0050 1f90`);
    expect(readProxyHeader(ipv6)).toEqual({
      status: "done",
      length: 52,
      connection: {
        sourceAddress: "2001:db8::7",
        sourcePort: 80,
        destinationAddress: "2001:db8::1",
        destinationPort: 8080,
      },
    });
  });

  it("takes v2 LOCAL and families it does not route on as no addresses", () => {
    expect(readProxyHeader(v2("20 00 0000"))).toEqual({ status: "done", length: 16, connection: undefined });
    // LOCAL with IPv4 addresses: the sender's own connection, addresses ignored.
    expect(readProxyHeader(v2("20 11 000c c0000207 c6336401 c738 01bb"))).toMatchObject({
      connection: undefined,
    });
    // UDP over IPv4 and a UNIX socket.
    expect(readProxyHeader(v2("21 12 000c c0000207 c6336401 c738 01bb"))).toMatchObject({
      connection: undefined,
    });
    expect(readProxyHeader(v2(`21 31 00d8 ${"00".repeat(216)}`))).toMatchObject({
      length: 232,
      connection: undefined,
    });
  });

  it("waits for more bytes at every cut of a header", () => {
    for (const header of [
      text("PROXY TCP4 192.0.2.7 198.51.100.1 51000 443\r\n"),
      v2("21 11 000f c0000207 c6336401 c738 01bb 04 0000"),
    ]) {
      for (let cut = 0; cut < header.length; cut++) {
        expect(readProxyHeader(header.subarray(0, cut))).toEqual({ status: "incomplete" });
      }
    }
  });

  it.each([
    ["GET / HTTP/1.1\r\n", "did not start with a PROXY protocol header"],
    ["PROXX TCP4", "did not start with a PROXY protocol header"],
    ["PROXY TCP4 192.0.2.7 198.51.100.1 51000\r\n", "two addresses, two ports"],
    ["PROXY TCP4 192.0.2.7  198.51.100.1 51000 443\r\n", "two addresses, two ports"],
    ["PROXY TCP4 2001:db8::7 198.51.100.1 51000 443\r\n", "not both IPv4"],
    ["PROXY TCP6 192.0.2.7 198.51.100.1 51000 443\r\n", "not both IPv6"],
    ["PROXY TCP6 fe80::7%eth0 fe80::1 51000 443\r\n", "not both IPv6"],
    ["PROXY TCP4 192.0.2.7 198.51.100.1 051000 443\r\n", "port is not 0 to 65535"],
    ["PROXY TCP4 192.0.2.7 198.51.100.1 65536 443\r\n", "port is not 0 to 65535"],
    ["PROXY TCP4 192.0.2.7 198.51.100.1 -1 443\r\n", "port is not 0 to 65535"],
    ["PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n", 'protocol "UDP4"'],
    [`PROXY UNKNOWN ${"x".repeat(100)}\r\n`, "longer than 107 bytes"],
    [`PROXY UNKNOWN ${"x".repeat(100)}`, "longer than 107 bytes"],
  ])("refuses the v1 line %j", (line, reason) => {
    const read = readProxyHeader(text(line));
    expect(read.status).toBe("invalid");
    expect(read.status === "invalid" && read.reason).toContain(reason);
  });

  it.each([
    ["an unknown version", "11 11 000c c0000207 c6336401 c738 01bb", "is not 0x20 or 0x21"],
    ["an unknown command", "22 11 000c c0000207 c6336401 c738 01bb", "is not 0x20 or 0x21"],
    ["a length shorter than its addresses", "21 11 0008 c0000207 c6336401", "shorter than its addresses"],
    [
      "a length past the limit",
      `21 11 ${(PROXY_V2_MAX_BYTES - 15).toString(16).padStart(4, "0")}`,
      "longer than 16384",
    ],
  ])("refuses a v2 header with %s", (_, hex, reason) => {
    const read = readProxyHeader(v2(hex));
    expect(read.status).toBe("invalid");
    expect(read.status === "invalid" && read.reason).toContain(reason);
  });

  it("refuses a broken v2 signature at its first wrong byte", () => {
    expect(readProxyHeader(Buffer.from("0d0a0d0a00", "hex"))).toEqual({ status: "incomplete" });
    expect(readProxyHeader(Buffer.from("0d0a0d0a01", "hex")).status).toBe("invalid");
  });
});

describe("encodeProxyHeader", () => {
  it("writes the v1 line and the v2 bytes of the spec", () => {
    expect(encodeProxyHeader("v1", ipv4Connection).toString("latin1")).toBe(
      "PROXY TCP4 192.0.2.7 198.51.100.1 51000 443\r\n",
    );
    expect(encodeProxyHeader("v2", ipv4Connection).toString("hex")).toBe(
      `${SIGNATURE}2111000cc0000207c6336401c73801bb`,
    );
  });

  it("puts both ends in one family: IPv4-mapped ends as IPv4, a mixed pair as IPv6", () => {
    const mapped = {
      ...ipv4Connection,
      sourceAddress: "::ffff:192.0.2.7",
      destinationAddress: "::ffff:198.51.100.1",
    };
    expect(encodeProxyHeader("v1", mapped).toString("latin1")).toBe(
      "PROXY TCP4 192.0.2.7 198.51.100.1 51000 443\r\n",
    );
    const mixed = { ...ipv4Connection, destinationAddress: "2001:db8::1" };
    expect(encodeProxyHeader("v1", mixed).toString("latin1")).toBe(
      "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 51000 443\r\n",
    );
    expect(readProxyHeader(encodeProxyHeader("v2", mixed))).toMatchObject({
      connection: { sourceAddress: "::ffff:192.0.2.7", destinationAddress: "2001:db8::1" },
    });
  });

  it("round-trips any TCP connection through both versions", () => {
    const ipv6 = fc.ipV6().filter((address) => !address.includes("."));
    const connection = fc.oneof(
      fc.record({
        sourceAddress: fc.ipV4(),
        destinationAddress: fc.ipV4(),
        sourcePort: fc.nat(65_535),
        destinationPort: fc.nat(65_535),
      }),
      fc.record({
        sourceAddress: ipv6,
        destinationAddress: ipv6,
        sourcePort: fc.nat(65_535),
        destinationPort: fc.nat(65_535),
      }),
    );
    fc.assert(
      fc.property(
        connection,
        fc.constantFrom("v1" as const, "v2" as const),
        fc.uint8Array(),
        (sent, version, rest) => {
          const header = encodeProxyHeader(version, sent);
          const read = readProxyHeader(Buffer.concat([header, rest]));
          expect(read).toMatchObject({ status: "done", length: header.length });
          const got = read.status === "done" ? read.connection : undefined;
          // IPv6 comes back spelled as Node spells a peer's address.
          const same = (address: string) =>
            address.includes(":") ? new net.SocketAddress({ address, family: "ipv6" }).address : address;
          expect(got).toEqual({
            ...sent,
            sourceAddress: same(sent.sourceAddress),
            destinationAddress: same(sent.destinationAddress),
          });
        },
      ),
    );
  });
});
