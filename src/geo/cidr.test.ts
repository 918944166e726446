import net from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CidrMatcher, parseCidr, parseIpInto } from "./cidr.js";

function words(ip: string): number[] {
  const out = new Uint32Array(4);
  if (!parseIpInto(ip, out)) throw new Error(`not an IP: ${ip}`);
  return [...out];
}

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((octets) => octets.join("."));
const ipv6Groups = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
const ipv6 = ipv6Groups.map((groups) => groups.map((group) => group.toString(16)).join(":"));

/** The WHATWG URL parser's canonical (compressed) IPv6 text, an independent formatter. */
function canonicalIpv6(groups: number[]): string {
  const full = groups.map((group) => group.toString(16)).join(":");
  return new URL(`http://[${full}]/`).hostname.slice(1, -1);
}

describe("parseIpInto", () => {
  it("holds IPv4 as its IPv4-mapped IPv6 form", () => {
    expect(words("192.0.2.1")).toEqual([0, 0, 0xffff, 0xc0000201]);
    expect(words("::ffff:192.0.2.1")).toEqual(words("192.0.2.1"));
    expect(words("255.255.255.255")[3]).toBe(0xffffffff);
  });

  it("expands :: anywhere and reads a trailing dotted quad", () => {
    expect(words("::")).toEqual([0, 0, 0, 0]);
    expect(words("::1")).toEqual([0, 0, 0, 1]);
    expect(words("1::")).toEqual([0x10000, 0, 0, 0]);
    expect(words("2001:db8::8:800:200c:417a")).toEqual([0x20010db8, 0, 0x80800, 0x200c417a]);
    expect(words("fe80::1%eth0")).toEqual(words("fe80::1"));
    expect(words("64:ff9b::192.0.2.33")).toEqual([0x0064ff9b, 0, 0, 0xc0000221]);
  });

  it("agrees with an independent formatter on compressed and full forms", () => {
    fc.assert(
      fc.property(ipv6Groups, (groups) => {
        const expected = [0, 1, 2, 3].map(
          (w) => (((groups[2 * w] as number) << 16) | (groups[2 * w + 1] as number)) >>> 0,
        );
        expect(words(groups.map((group) => group.toString(16)).join(":"))).toEqual(expected);
        expect(words(canonicalIpv6(groups))).toEqual(expected);
      }),
    );
  });

  it("rejects what is not an address", () => {
    const out = new Uint32Array(4);
    for (const bad of ["", "nope", "1.2.3", "256.1.1.1", "1:2:3", "10.0.0.0/8", "::g"]) {
      expect(parseIpInto(bad, out)).toBe(false);
    }
  });
});

describe("parseCidr", () => {
  it("accepts blocks and bare addresses, clearing host bits", () => {
    expect(parseCidr("10.1.2.3/8")).toMatchObject({
      prefix: 104,
      words: new Uint32Array([0, 0, 0xffff, 0x0a000000]),
    });
    expect(parseCidr("203.0.113.7").prefix).toBe(128);
    expect(parseCidr("2001:db8::/32").prefix).toBe(32);
    expect(parseCidr("::/0").prefix).toBe(0);
  });

  it("says what it expected on bad input", () => {
    expect(() => parseCidr("10.0.0.0/33")).toThrow(/prefix length from 0 to 32/);
    expect(() => parseCidr("2001:db8::/129")).toThrow(/prefix length from 0 to 128/);
    expect(() => parseCidr("10.0.0.0/x")).toThrow(/prefix length/);
    expect(() => parseCidr("10.0.0.0/")).toThrow(/prefix length/);
    expect(() => parseCidr("eu-west")).toThrow(/IPv4 or IPv6 address or CIDR block/);
    expect(() => parseCidr("fe80::1%eth0/64")).toThrow(/IPv4 or IPv6 address/);
  });
});

describe("CidrMatcher", () => {
  it("returns the most specific matching block's value", () => {
    const matcher = new CidrMatcher([
      { block: parseCidr("10.0.0.0/8"), value: "wide" },
      { block: parseCidr("10.1.0.0/16"), value: "narrow" },
      { block: parseCidr("2001:db8::/32"), value: "v6" },
      { block: parseCidr("0.0.0.0/0"), value: "any-v4" },
    ]);
    expect(matcher.match("10.1.2.3")).toBe("narrow");
    expect(matcher.match("10.2.0.1")).toBe("wide");
    expect(matcher.match("::ffff:10.1.0.9")).toBe("narrow");
    expect(matcher.match("192.0.2.1")).toBe("any-v4");
    expect(matcher.match("2001:db8:1::5")).toBe("v6");
    expect(matcher.match("2001:db9::1")).toBeUndefined();
    expect(matcher.match("not an ip")).toBeUndefined();
    expect(new CidrMatcher([]).match("10.0.0.1")).toBeUndefined();
  });

  it("agrees with node:net BlockList on random blocks and addresses, mapped forms included", () => {
    const block = fc.oneof(
      fc.tuple(ipv4, fc.nat(32)).map(([address, prefix]) => ({ address, prefix, family: "ipv4" as const })),
      fc.tuple(ipv6, fc.nat(128)).map(([address, prefix]) => ({ address, prefix, family: "ipv6" as const })),
    );
    fc.assert(
      fc.property(
        fc.array(block, { minLength: 1, maxLength: 6 }),
        fc.array(fc.oneof(ipv4, ipv6), { maxLength: 20 }),
        (blocks, addresses) => {
          const matcher = new CidrMatcher(
            blocks.map((b) => ({ block: parseCidr(`${b.address}/${b.prefix}`), value: true })),
          );
          for (const address of addresses) {
            const family = net.isIP(address) === 4 ? "ipv4" : "ipv6";
            // An IPv4 address is its mapped IPv6 form to IPv6 blocks (only ::/0 to ::/80 can hold one).
            const expected = blocks.some((b) => {
              const list = new net.BlockList();
              list.addSubnet(b.address, b.prefix, b.family);
              if (family === "ipv4" && b.family === "ipv6") return list.check(`::ffff:${address}`, "ipv6");
              return list.check(address, family);
            });
            expect(matcher.has(address)).toBe(expected);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
