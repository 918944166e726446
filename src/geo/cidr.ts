/**
 * CIDR blocks for IPv4 and IPv6, and a longest-prefix matcher over them.
 * Every address is held as 128 bits (four 32-bit words), IPv4 as its
 * IPv4-mapped IPv6 form (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), so one compare
 * serves both families and a dual-stack listener's mapped addresses match
 * IPv4 blocks. (The other way round, an IPv6 block wide enough to hold
 * `::ffff:0:0/96`, i.e. `::/0` to `::/80`, also holds every IPv4 address.)
 *
 * Not `node:net` BlockList: it answers only yes or no (a region map needs to
 * know which block matched) and measured about 2 µs per check here, since it
 * builds a SocketAddress per call; this parser and compare take a small
 * fraction of that and allocate nothing per lookup.
 */
import net from "node:net";

/** A parsed block: the network in 128-bit form, host bits cleared. */
export interface CidrBlock {
  /** As written in config. */
  readonly text: string;
  readonly words: Uint32Array;
  /** Prefix length in the 128-bit space (IPv4 /n is /(96+n)). */
  readonly prefix: number;
}

const IPV4_MAPPED_WORD = 0xffff;

/**
 * Parses `text` (IPv4, or IPv6 with an optional `%zone`) into `out` as four
 * 32-bit words; false when it is not an IP address.
 */
export function parseIpInto(text: string, out: Uint32Array): boolean {
  const family = net.isIP(text);
  if (family === 4) {
    out[0] = 0;
    out[1] = 0;
    out[2] = IPV4_MAPPED_WORD;
    out[3] = parseDottedQuad(text, 0, text.length);
    return true;
  }
  if (family === 6) {
    parseIpv6(text, out);
    return true;
  }
  return false;
}

/**
 * Parses `a.b.c.d/n` or `x:y::z/n`; a bare address is a single host. Host bits
 * are cleared. Throws an Error saying what was expected.
 */
export function parseCidr(text: string): CidrBlock {
  const slash = text.indexOf("/");
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = net.isIP(address);
  if (family === 0 || address.includes("%")) {
    throw new Error(`expected an IPv4 or IPv6 address or CIDR block like "10.0.0.0/8", got "${text}"`);
  }
  const maxPrefix = family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(maxPrefix) : text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix <= maxPrefix)) {
    throw new Error(`expected a prefix length from 0 to ${maxPrefix} in "${text}"`);
  }
  const words = new Uint32Array(4);
  parseIpInto(address, words);
  const fullPrefix = family === 4 ? 96 + prefix : prefix;
  for (let w = 0; w < 4; w++) words[w] = ((words[w] as number) & wordMask(fullPrefix, w)) >>> 0;
  return { text, words, prefix: fullPrefix };
}

/** True when `address` (four words) lies in `block`. */
export function blockContains(block: CidrBlock, address: Uint32Array): boolean {
  for (let w = 0; w < 4; w++) {
    const mask = wordMask(block.prefix, w);
    if (mask === 0) return true;
    if (((address[w] as number) & mask) >>> 0 !== block.words[w]) return false;
  }
  return true;
}

/**
 * Blocks with a value each; `match` returns the value of the most specific
 * block holding the address (longest prefix), or undefined. Linear in the
 * number of blocks: meant for config-sized lists, behind a cache.
 */
export class CidrMatcher<T> {
  readonly #blocks: CidrBlock[];
  readonly #values: T[];
  readonly #scratch = new Uint32Array(4);

  constructor(entries: readonly { block: CidrBlock; value: T }[]) {
    const sorted = [...entries].sort((a, b) => b.block.prefix - a.block.prefix);
    this.#blocks = sorted.map((entry) => entry.block);
    this.#values = sorted.map((entry) => entry.value);
  }

  get size(): number {
    return this.#blocks.length;
  }

  match(ip: string): T | undefined {
    if (this.#blocks.length === 0 || !parseIpInto(ip, this.#scratch)) return undefined;
    for (let i = 0; i < this.#blocks.length; i++) {
      if (blockContains(this.#blocks[i] as CidrBlock, this.#scratch)) return this.#values[i];
    }
    return undefined;
  }

  has(ip: string): boolean {
    return this.match(ip) !== undefined;
  }
}

/** The mask `prefix` leaves on word `w` (0 = most significant). */
function wordMask(prefix: number, w: number): number {
  const bits = prefix - 32 * w;
  if (bits <= 0) return 0;
  if (bits >= 32) return 0xffffffff;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** `a.b.c.d` between `start` and `end` as an unsigned 32-bit number (input already validated). */
function parseDottedQuad(text: string, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code === 46 /* . */) {
      value = value * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + (code - 48);
    }
  }
  return (value * 256 + octet) >>> 0;
}

const groups = new Uint16Array(8);

/** IPv6 text (validated by net.isIP) into four words: groups, `::` expansion, trailing dotted quad. */
function parseIpv6(text: string, out: Uint32Array): void {
  const zone = text.indexOf("%");
  const end = zone === -1 ? text.length : zone;
  let count = 0;
  let gap = -1;
  let i = 0;
  if (text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < end) {
    let value = 0;
    const start = i;
    let dotted = false;
    for (; i < end; i++) {
      const code = text.charCodeAt(i);
      if (code === 58 /* : */) break;
      if (code === 46 /* . */) dotted = true;
      value = value * 16 + hexValue(code);
    }
    if (dotted) {
      const v4 = parseDottedQuad(text, start, end);
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      break;
    }
    groups[count++] = value;
    if (i < end) {
      i++;
      if (text.charCodeAt(i) === 58) {
        gap = count;
        i++;
      }
    }
  }
  if (gap !== -1) {
    const tail = count - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k] as number;
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let w = 0; w < 4; w++)
    out[w] = (((groups[2 * w] as number) << 16) | (groups[2 * w + 1] as number)) >>> 0;
}

function hexValue(code: number): number {
  if (code <= 57) return code - 48;
  return (code | 0x20) - 87;
}
