/**
 * The string hashes a hash-based selector can be configured with (DWCP and the
 * consistent-hashing HTTP balancer name crc32, fnv1a, djb2 and md5; xxHash32 is Envoy's default for
 * its ring and Maglev balancers). Each maps a string's UTF-8 bytes to an
 * unsigned 32-bit integer and matches the published reference for the same
 * bytes, so a key hashes the same here as in another language's library.
 *
 * Hot path: ASCII strings are hashed straight from `charCodeAt`; other
 * strings are UTF-8 encoded into one module-level scratch buffer, so hashing
 * allocates nothing unless a key outgrows the buffer. md5 is the exception: it goes through node:crypto,
 * allocates a digest per call and costs about a microsecond, so it is an
 * option for compatibility, not a default.
 *
 * Positions on a ring or in a Maglev table pass through `mixSigned` (the
 * murmur3 finalizer), because weak hashes cluster: djb2 of "b1#0" … "b1#9"
 * are ten consecutive integers. Positions are signed 32-bit integers, which
 * V8 never boxes; `signedHashFunctions` give the hashes in that form.
 */
import { hash as cryptoHash } from "node:crypto";
import { z } from "zod";

/** A string hash: the key's UTF-8 bytes → a 32-bit integer (unsigned, or signed in `signedHashFunctions`). */
export type HashFunction = (key: string) => number;

export const HASH_FUNCTION_NAMES = ["xxhash", "fnv1a", "crc32", "djb2", "md5"] as const;

export type HashFunctionName = (typeof HASH_FUNCTION_NAMES)[number];

export const hashFunctionNameSchema = z.enum(HASH_FUNCTION_NAMES);

let scratch = new Uint8Array(256);

/**
 * Writes `key` as UTF-8 into `scratch` (grown when too small) and returns the
 * byte count. Lone surrogates become U+FFFD, as `TextEncoder` does.
 */
function encodeUtf8(key: string): number {
  if (key.length * 3 > scratch.length) scratch = new Uint8Array(Math.max(key.length * 3, scratch.length * 2));
  const bytes = scratch;
  let length = 0;
  for (let i = 0; i < key.length; i++) {
    let code = key.charCodeAt(i);
    if (code < 0x80) {
      bytes[length++] = code;
    } else if (code < 0x800) {
      bytes[length++] = 0xc0 | (code >>> 6);
      bytes[length++] = 0x80 | (code & 0x3f);
    } else {
      if (code >= 0xd800 && code <= 0xdfff) {
        const low = i + 1 < key.length ? key.charCodeAt(i + 1) : 0;
        if (code <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
          i++;
          bytes[length++] = 0xf0 | (code >>> 18);
          bytes[length++] = 0x80 | ((code >>> 12) & 0x3f);
          bytes[length++] = 0x80 | ((code >>> 6) & 0x3f);
          bytes[length++] = 0x80 | (code & 0x3f);
          continue;
        }
        code = 0xfffd;
      }
      bytes[length++] = 0xe0 | (code >>> 12);
      bytes[length++] = 0x80 | ((code >>> 6) & 0x3f);
      bytes[length++] = 0x80 | (code & 0x3f);
    }
  }
  return length;
}

// --- CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as zlib's crc32 ---

const CRC_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

function crc32Signed(key: string): number {
  let crc = -1;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) return crc32Bytes(encodeUtf8(key));
    crc = (CRC_TABLE[(crc ^ code) & 0xff] as number) ^ (crc >>> 8);
  }
  return ~crc;
}

function crc32Bytes(length: number): number {
  let crc = -1;
  for (let i = 0; i < length; i++)
    crc = (CRC_TABLE[(crc ^ (scratch[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc;
}

// --- FNV-1a, 32-bit (Fowler, Noll, Vo) ---

const FNV_OFFSET_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

function fnv1aSigned(key: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) return fnv1aBytes(encodeUtf8(key));
    hash = Math.imul(hash ^ code, FNV_PRIME);
  }
  return hash;
}

function fnv1aBytes(length: number): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < length; i++) hash = Math.imul(hash ^ (scratch[i] as number), FNV_PRIME);
  return hash;
}

// --- djb2 (Bernstein: hash * 33 + byte, from 5381), modulo 2^32 ---

function djb2Signed(key: string): number {
  let hash = 5381;
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) return djb2Bytes(encodeUtf8(key));
    hash = (Math.imul(hash, 33) + code) | 0;
  }
  return hash;
}

function djb2Bytes(length: number): number {
  let hash = 5381;
  for (let i = 0; i < length; i++) hash = (Math.imul(hash, 33) + (scratch[i] as number)) | 0;
  return hash;
}

// --- md5: the digest's first four bytes, big-endian (the first 8 hex digits) ---

function md5Signed(key: string): number {
  return cryptoHash("md5", key, "buffer").readInt32BE(0);
}

// --- xxHash32 (Yann Collet), seed 0 ---

const P1 = 0x9e3779b1;
const P2 = 0x85ebca77;
const P3 = 0xc2b2ae3d;
const P4 = 0x27d4eb2f;
const P5 = 0x165667b1;

function rotl(value: number, bits: number): number {
  return (value << bits) | (value >>> (32 - bits));
}

function lane(bytes: Uint8Array, i: number): number {
  return (
    (bytes[i] as number) |
    ((bytes[i + 1] as number) << 8) |
    ((bytes[i + 2] as number) << 16) |
    ((bytes[i + 3] as number) << 24)
  );
}

function round(acc: number, input: number): number {
  return Math.imul(rotl((acc + Math.imul(input, P2)) | 0, 13), P1);
}

function xxhashSigned(key: string): number {
  const length = key.length;
  let i = 0;
  let acc: number;
  // ASCII strings are read straight from the string, 4 chars a lane; the first
  // char past 0x7f sends the whole key through the UTF-8 path instead.
  if (length >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = -P1 | 0;
    for (const limit = length - 16; i <= limit; i += 16) {
      const l1 = asciiLane(key, i);
      const l2 = asciiLane(key, i + 4);
      const l3 = asciiLane(key, i + 8);
      const l4 = asciiLane(key, i + 12);
      if ((l1 | l2 | l3 | l4) & 0x80808080) return xxhashBytes(encodeUtf8(key));
      v1 = round(v1, l1);
      v2 = round(v2, l2);
      v3 = round(v3, l3);
      v4 = round(v4, l4);
    }
    acc = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    acc = P5;
  }
  acc = (acc + length) | 0;
  for (; i + 4 <= length; i += 4) {
    const l = asciiLane(key, i);
    if (l & 0x80808080) return xxhashBytes(encodeUtf8(key));
    acc = Math.imul(rotl((acc + Math.imul(l, P3)) | 0, 17), P4);
  }
  for (; i < length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) return xxhashBytes(encodeUtf8(key));
    acc = Math.imul(rotl((acc + Math.imul(code, P5)) | 0, 11), P1);
  }
  return avalanche(acc);
}

/** Four chars as a little-endian lane; a char above 0xff sets bit 7 of some byte, as does any above 0x7f. */
function asciiLane(key: string, i: number): number {
  const a = key.charCodeAt(i);
  const b = key.charCodeAt(i + 1);
  const c = key.charCodeAt(i + 2);
  const d = key.charCodeAt(i + 3);
  if ((a | b | c | d) > 0x7f) return 0x80;
  return a | (b << 8) | (c << 16) | (d << 24);
}

function avalanche(acc: number): number {
  acc = Math.imul(acc ^ (acc >>> 15), P2);
  acc = Math.imul(acc ^ (acc >>> 13), P3);
  return acc ^ (acc >>> 16);
}

function xxhashBytes(length: number): number {
  const bytes = scratch;
  let i = 0;
  let acc: number;
  if (length >= 16) {
    let v1 = (P1 + P2) | 0;
    let v2 = P2;
    let v3 = 0;
    let v4 = -P1 | 0;
    for (const limit = length - 16; i <= limit; i += 16) {
      v1 = round(v1, lane(bytes, i));
      v2 = round(v2, lane(bytes, i + 4));
      v3 = round(v3, lane(bytes, i + 8));
      v4 = round(v4, lane(bytes, i + 12));
    }
    acc = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    acc = P5;
  }
  acc = (acc + length) | 0;
  for (; i + 4 <= length; i += 4) acc = Math.imul(rotl((acc + Math.imul(lane(bytes, i), P3)) | 0, 17), P4);
  for (; i < length; i++) acc = Math.imul(rotl((acc + Math.imul(bytes[i] as number, P5)) | 0, 11), P1);
  return avalanche(acc);
}

export function crc32(key: string): number {
  return crc32Signed(key) >>> 0;
}

export function fnv1a(key: string): number {
  return fnv1aSigned(key) >>> 0;
}

export function djb2(key: string): number {
  return djb2Signed(key) >>> 0;
}

export function md5(key: string): number {
  return md5Signed(key) >>> 0;
}

export function xxhash(key: string): number {
  return xxhashSigned(key) >>> 0;
}

export const hashFunctions: Readonly<Record<HashFunctionName, HashFunction>> = Object.freeze({
  xxhash,
  fnv1a,
  crc32,
  djb2,
  md5,
});

/**
 * The same hashes as signed 32-bit integers (`hash | 0`), for the hot path:
 * V8 returns an int32 in a register, while a uint32 at or above 2^31 leaves a
 * call as a heap number, an allocation on every other request.
 */
export const signedHashFunctions: Readonly<Record<HashFunctionName, HashFunction>> = Object.freeze({
  xxhash: xxhashSigned,
  fnv1a: fnv1aSigned,
  crc32: crc32Signed,
  djb2: djb2Signed,
  md5: md5Signed,
});

/**
 * murmur3's 32-bit finalizer as a signed 32-bit integer: a bijection with
 * full avalanche, applied to a hash before it becomes a position so that keys
 * differing in one byte land far apart whatever the hash. Works the same on a
 * hash given signed or unsigned.
 */
export function mixSigned(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return hash ^ (hash >>> 16);
}

/** `mixSigned` as an unsigned 32-bit integer. */
export function mix32(hash: number): number {
  return mixSigned(hash) >>> 0;
}
