import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  crc32,
  djb2,
  fnv1a,
  HASH_FUNCTION_NAMES,
  hashFunctionNameSchema,
  hashFunctions,
  md5,
  mix32,
  mixSigned,
  signedHashFunctions,
  xxhash,
} from "./hash-functions.js";

const NON_ASCII = "héllo wörld ✓ 🚀";
const FOX = "The quick brown fox jumps over the lazy dog";

// Expected values: the algorithms' published check values where they exist
// (CRC-32 "123456789" = cbf43926, the FNV test suite, RFC 1321 for md5, the
// xxHash reference `xxhsum -H0`), the rest from reference implementations
// over the same UTF-8 bytes.
const VECTORS: Record<string, [string, number][]> = {
  crc32: [
    ["", 0x00000000],
    ["a", 0xe8b7be43],
    ["123456789", 0xcbf43926],
    ["192.168.1.100", 0xa1d17ed8],
    [FOX, 0x414fa339],
    [NON_ASCII, 0xfcba12e0],
  ],
  fnv1a: [
    ["", 0x811c9dc5],
    ["a", 0xe40c292c],
    ["foobar", 0xbf9cf968],
    ["123456789", 0xbb86b11c],
    [FOX, 0x048fff90],
    [NON_ASCII, 0x54d30110],
  ],
  djb2: [
    ["", 5381],
    ["a", 0x0002b606],
    ["foobar", 0xfde460be],
    ["192.168.1.100", 0xb1ad4ccc],
    [FOX, 0x34cc38de],
    [NON_ASCII, 0x258e288c],
  ],
  md5: [
    ["", 0xd41d8cd9],
    ["a", 0x0cc175b9],
    ["123456789", 0x25f9e794],
    [FOX, 0x9e107d9d],
    [NON_ASCII, 0x0064c56a],
  ],
  xxhash: [
    ["", 0x02cc5d05],
    ["a", 0x550d7456],
    ["abc", 0x32d153ff],
    ["0123456789abcdef", 0xc2c45b69], // exactly one 16-byte stripe
    ["0123456789abcdef0", 0xaa9118bd], // one stripe and a byte
    ["192.168.1.100", 0x2c8f0d2c],
    ["Nobody inspects the spammish repetition", 0xe2293b2f],
    [FOX, 0xe85ea4de],
    [NON_ASCII, 0x386d5724],
  ],
};

describe("hash functions", () => {
  for (const [name, vectors] of Object.entries(VECTORS)) {
    it(`${name} matches its reference vectors`, () => {
      const hash = hashFunctions[hashFunctionNameSchema.parse(name)];
      for (const [input, expected] of vectors) expect(hash(input), JSON.stringify(input)).toBe(expected);
    });
  }

  it("exports each function under its configured name", () => {
    expect(hashFunctions).toEqual({ crc32, djb2, fnv1a, md5, xxhash });
    expect(Object.keys(hashFunctions).sort()).toEqual([...HASH_FUNCTION_NAMES].sort());
    expect(hashFunctionNameSchema.safeParse("sha1").success).toBe(false);
  });

  it("returns unsigned 32-bit integers and hashes equal strings equally", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 80 }), (key) => {
        for (const name of HASH_FUNCTION_NAMES) {
          const value = hashFunctions[name](key);
          expect(Number.isInteger(value) && value >= 0 && value <= 0xffffffff).toBe(true);
          expect(hashFunctions[name](`${key}`)).toBe(value);
        }
      }),
    );
  });

  it("gives the same hashes as signed integers for the hot path", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), fc.integer(), (key, value) => {
        for (const name of HASH_FUNCTION_NAMES) {
          const signed = signedHashFunctions[name](key);
          expect(signed).toBe(hashFunctions[name](key) | 0);
          expect(signed).toBe(signed | 0);
        }
        expect(mixSigned(value)).toBe(mix32(value) | 0);
        expect(mixSigned(value >>> 0)).toBe(mixSigned(value | 0));
      }),
    );
    expect(signedHashFunctions.fnv1a("")).toBe(0x811c9dc5 | 0);
  });

  it("hashes UTF-8 bytes: a lone surrogate hashes as U+FFFD, as TextEncoder encodes it", () => {
    for (const name of HASH_FUNCTION_NAMES) {
      expect(hashFunctions[name]("a\ud800b")).toBe(hashFunctions[name]("a\ufffdb"));
    }
  });

  it("hashes keys longer than the scratch buffer", () => {
    const long = "ключ-".repeat(200);
    expect(xxhash(long)).toBe(xxhash(long.slice(0)));
    expect(fnv1a(long)).not.toBe(fnv1a(long.slice(1)));
  });

  it("mix32 is a bijection that spreads consecutive inputs", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(mix32(i));
    expect(seen.size).toBe(10_000);
    // djb2 of "b1#0".."b1#9" are consecutive; mixed, their top bits differ.
    const tops = new Set(Array.from({ length: 10 }, (_, i) => mix32(djb2(`b1#${i}`)) >>> 28));
    expect(tops.size).toBeGreaterThan(4);
  });
});
