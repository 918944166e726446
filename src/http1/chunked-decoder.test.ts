/**
 * Unit and property tests of the streaming chunked decoder. The proxy feeds
 * it bytes as they arrive, so the same message must give the same body,
 * trailers and end index however it is split (byte by byte, at every single
 * cut, at random cuts); and every form a lenient parser could read two ways
 * (odd sizes, line ends other than CRLF, extension syntax llhttp refuses,
 * malformed trailers) must be refused, since a chunked framing that differs
 * from a backend's is a request-smuggling hole.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../core/errors.js";
import {
  BACKEND_CHUNK_LIMITS,
  ChunkedDecoder,
  type ChunkLimits,
  CLIENT_CHUNK_LIMITS,
} from "./chunked-decoder.js";
import { HttpParseError } from "./parse-error.js";

const bytes = (text: string) => Buffer.from(text, "latin1");

interface Decoded {
  body: Buffer;
  trailers: string[] | undefined;
  /** Index in the whole input just past the chunked body; -1 when it never ended. */
  end: number;
}

/** Decodes `input` handed over in `pieces` (cut at the given offsets), as a socket would. */
function decodeInPieces(input: Buffer, cuts: number[], limits: ChunkLimits = CLIENT_CHUNK_LIMITS): Decoded {
  const decoder = new ChunkedDecoder(limits);
  const chunks: Buffer[] = [];
  const sink = { onBodyData: (data: Buffer) => chunks.push(Buffer.from(data)) };
  const bounds = [...new Set([0, ...cuts.filter((cut) => cut > 0 && cut < input.length), input.length])].sort(
    (a, b) => a - b,
  );
  for (let i = 0; i + 1 < bounds.length; i++) {
    const from = bounds[i] as number;
    const piece = input.subarray(from, bounds[i + 1]);
    const at = decoder.decode(piece, 0, sink);
    if (decoder.done) return { body: Buffer.concat(chunks), trailers: decoder.trailers, end: from + at };
    expect(at).toBe(piece.length);
  }
  return { body: Buffer.concat(chunks), trailers: decoder.trailers, end: -1 };
}

function decodeAll(text: string, limits?: ChunkLimits): Decoded {
  return decodeInPieces(bytes(text), [], limits);
}

function decodeError(text: string, limits: ChunkLimits = CLIENT_CHUNK_LIMITS): HttpParseError {
  try {
    decodeAll(text, limits);
  } catch (error) {
    if (error instanceof HttpParseError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

const NEXT = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";

describe("ChunkedDecoder: decoding", () => {
  it("decodes chunks and the last chunk, and ends just after the empty line", () => {
    const text = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n";
    const decoded = decodeAll(text + NEXT);
    expect(decoded.body.toString("latin1")).toBe("hello, world");
    expect(decoded.trailers).toEqual([]);
    expect(decoded.end).toBe(text.length);
  });

  it("decodes an empty body", () => {
    expect(decodeAll(`0\r\n\r\n${NEXT}`)).toEqual({ body: Buffer.alloc(0), trailers: [], end: 5 });
  });

  it("reads hex sizes in either case, with leading zeros", () => {
    const data = "x".repeat(0xab);
    expect(decodeAll(`Ab\r\n${data}\r\n000\r\n\r\n`).body.length).toBe(0xab);
    expect(decodeAll(`00000000000aB\r\n${data}\r\n0\r\n\r\n`).body.length).toBe(0xab);
  });

  it("passes body bytes through untouched, CR, LF and NUL included", () => {
    const data = "\r\n0\r\n\r\n\x00\xff";
    expect(decodeAll(`${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`).body.toString("latin1")).toBe(
      data,
    );
  });

  it("collects trailer fields, stripping blanks around values", () => {
    const text = "3\r\nabc\r\n0\r\nDigest: sha-256=x\r\nx-empty:\r\nX-Tab:\t a b \t\r\n\r\n";
    const decoded = decodeAll(text + NEXT);
    expect(decoded.trailers).toEqual(["Digest", "sha-256=x", "x-empty", "", "X-Tab", "a b"]);
    expect(decoded.end).toBe(text.length);
  });

  it("checks and drops chunk extensions llhttp accepts", () => {
    for (const ext of [
      ";a",
      ";a=b",
      ";a=b;c",
      ';a="q\\"x"',
      ';a=""',
      ';a="b\tc d"',
      ';a="\x80\xff"',
      ";!#$%&'*+-.^_`|~=x",
    ]) {
      const decoded = decodeAll(`5${ext}\r\nhello\r\n0${ext}\r\n\r\n`);
      expect(decoded.body.toString()).toBe("hello");
      expect(decoded.end).toBeGreaterThan(0);
    }
  });

  it("is done only after the trailer section, and holds no trailers before", () => {
    const decoder = new ChunkedDecoder(CLIENT_CHUNK_LIMITS);
    const sink = { onBodyData: () => {} };
    expect(decoder.decode(bytes("0\r\n"), 0, sink)).toBe(3);
    expect(decoder.done).toBe(false);
    expect(decoder.trailers).toBeUndefined();
    expect(decoder.decode(bytes("A: b\r\n"), 0, sink)).toBe(6);
    expect(decoder.done).toBe(false);
    expect(decoder.decode(bytes("\r\nrest"), 0, sink)).toBe(2);
    expect(decoder.done).toBe(true);
    expect(decoder.trailers).toEqual(["A", "b"]);
  });

  it("decodes from a start offset and hands out views of the input", () => {
    const buf = bytes(`HEAD3\r\nabc\r\n0\r\n\r\n${NEXT}`);
    const seen: Buffer[] = [];
    const end = new ChunkedDecoder(CLIENT_CHUNK_LIMITS).decode(buf, 4, {
      onBodyData: (data) => seen.push(data),
    });
    expect(end).toBe(4 + "3\r\nabc\r\n0\r\n\r\n".length);
    expect(seen).toHaveLength(1);
    expect((seen[0] as Buffer).buffer).toBe(buf.buffer);
    expect(buf.toString("latin1", end)).toBe(NEXT);
  });
});

describe("ChunkedDecoder: every split gives the same result", () => {
  const message =
    '4;ext=1\r\nWiki\r\n6\r\npedia \r\nE;q="a;b"\r\nin \r\n\r\nchunks.\r\n0;last\r\nExpires: never\r\nX: y\r\n\r\n';
  const input = bytes(message + NEXT);
  const whole = decodeInPieces(input, []);

  it("decodes the reference message", () => {
    expect(whole.body.toString("latin1")).toBe("Wikipedia in \r\n\r\nchunks.");
    expect(whole.trailers).toEqual(["Expires", "never", "X", "y"]);
    expect(whole.end).toBe(message.length);
  });

  it("byte by byte", () => {
    expect(
      decodeInPieces(
        input,
        Array.from({ length: input.length }, (_, i) => i),
      ),
    ).toEqual(whole);
  });

  it("cut once anywhere", () => {
    for (let cut = 1; cut < input.length; cut++) expect(decodeInPieces(input, [cut])).toEqual(whole);
  });

  it("cut at random places (fast-check)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: input.length - 1 }), { maxLength: 30 }), (cuts) => {
        expect(decodeInPieces(input, cuts)).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });

  const token = fc.string({ unit: fc.constantFrom(..."abcXYZ019-_!~"), minLength: 1, maxLength: 6 });
  const extension = fc.oneof(
    token.map((name) => `;${name}`),
    fc.tuple(token, token).map(([name, value]) => `;${name}=${value}`),
    fc
      .tuple(token, fc.string({ unit: fc.constantFrom(...'ab ;=\t\\"\x80'), maxLength: 6 }))
      .map(([name, value]) => `;${name}="${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`),
  );
  const chunk = fc.record({
    data: fc.uint8Array({ minLength: 1, maxLength: 40 }),
    zeros: fc.integer({ min: 0, max: 3 }),
    upper: fc.boolean(),
    extensions: fc.array(extension, { maxLength: 2 }),
  });
  const trailer = fc.tuple(
    fc.string({ unit: fc.constantFrom(..."abcXYZ-"), minLength: 1, maxLength: 8 }),
    fc.string({ unit: fc.constantFrom(..."ab 1;:\t\x80"), maxLength: 8 }),
  );

  it("random messages, random cuts: same body, trailers and end as in one piece", () => {
    fc.assert(
      fc.property(
        fc.array(chunk, { maxLength: 5 }),
        fc.array(extension, { maxLength: 2 }),
        fc.array(trailer, { maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (chunks, lastExtensions, trailers, rawCuts) => {
          const parts: Buffer[] = [];
          for (const { data, zeros, upper, extensions } of chunks) {
            const size = "0".repeat(zeros) + data.length.toString(16);
            parts.push(bytes(`${upper ? size.toUpperCase() : size}${extensions.join("")}\r\n`));
            parts.push(Buffer.from(data), bytes("\r\n"));
          }
          parts.push(bytes(`0${lastExtensions.join("")}\r\n`));
          for (const [name, value] of trailers) parts.push(bytes(`${name}: ${value}\r\n`));
          parts.push(bytes("\r\n"));
          const encoded = Buffer.concat(parts);
          const input = Buffer.concat([encoded, bytes(NEXT)]);
          const cuts = rawCuts.map((cut) => cut % input.length);
          const decoded = decodeInPieces(input, cuts);
          expect(decoded.end).toBe(encoded.length);
          expect(decoded.body).toEqual(Buffer.concat(chunks.map(({ data }) => Buffer.from(data))));
          expect(decoded.trailers).toEqual(
            trailers.flatMap(([name, value]) => [name, value.replace(/^[ \t]+|[ \t]+$/g, "")]),
          );
          expect(decodeInPieces(input, [])).toEqual(decoded);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("refuses a malformed message at whatever split", () => {
    const bad = bytes("5\r\nhello\r\n3;a b\r\nabc\r\n0\r\n\r\n");
    for (let cut = 1; cut < bad.length; cut++) {
      expect(() => decodeInPieces(bad, [cut])).toThrow(HttpParseError);
    }
  });
});

describe("ChunkedDecoder: refusals", () => {
  const refused: Array<[string, string]> = [
    ["a 0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"],
    ["a negative size", "-1\r\nhello\r\n0\r\n\r\n"],
    ["a signed size", "+5\r\nhello\r\n0\r\n\r\n"],
    ["a missing size", "\r\nhello\r\n0\r\n\r\n"],
    ["a blank after the size", "5 \r\nhello\r\n0\r\n\r\n"],
    ["a tab after the size", "5\t\r\nhello\r\n0\r\n\r\n"],
    ["a blank before the size", " 5\r\nhello\r\n0\r\n\r\n"],
    ["a blank before an extension", "5 ;a\r\nhello\r\n0\r\n\r\n"],
    ["a size over 13 hex digits", "10000000000005\r\nhello\r\n0\r\n\r\n"],
    ["zero padding past the size line's budget", `${"0".repeat(4_097)}5\r\nhello\r\n0\r\n\r\n`],
    ["a huge size", "fffffffffffffffffff\r\nhello\r\n0\r\n\r\n"],
    ["a non-hex size", "5g\r\nhello\r\n0\r\n\r\n"],
    ["a bare LF after the size", "5\nhello\r\n0\r\n\r\n"],
    ["bare LFs throughout", "5\nhello\n0\n\n"],
    ["a bare CR after the size", "5\rhello\r\n0\r\n\r\n"],
    ["data longer than the size", "5\r\nhello!\r\n0\r\n\r\n"],
    ["data shorter than the size", "5\r\nhell\r\n0\r\n\r\n"],
    ["a bare LF after the data", "5\r\nhello\n0\r\n\r\n"],
    ["a bare CR after the data", "5\r\nhello\r0\r\n\r\n"],
    ["a NUL in the size line", "5\x00\r\nhello\r\n0\r\n\r\n"],
    ["a CR inside an extension", "5;a\rb\r\nhello\r\n0\r\n\r\n"],
    ["an LF inside an extension", "5;a\nb\r\nhello\r\n0\r\n\r\n"],
    ["a NUL inside an extension", "5;a\x00\r\nhello\r\n0\r\n\r\n"],
    ["an empty extension", "5;\r\nhello\r\n0\r\n\r\n"],
    ["a blank after ;", "5; a=b\r\nhello\r\n0\r\n\r\n"],
    ["blanks around =", "5;a = b\r\nhello\r\n0\r\n\r\n"],
    ["a blank after an extension name", "5;a \r\nhello\r\n0\r\n\r\n"],
    ["a tab after an extension name", "5;a\t\r\nhello\r\n0\r\n\r\n"],
    ["an empty extension value", "5;a=\r\nhello\r\n0\r\n\r\n"],
    ["two = in an extension", "5;a=b=c\r\nhello\r\n0\r\n\r\n"],
    ["text after a quoted value", '5;a="b"c\r\nhello\r\n0\r\n\r\n'],
    ["an unterminated quoted value", '5;a="b\r\nhello\r\n0\r\n\r\n'],
    ["a CR escaped in a quoted value", '5;a="\\\r\n"\r\nhello\r\n0\r\n\r\n'],
    ["obs-text in a token value", "5;a=\x80\r\nhello\r\n0\r\n\r\n"],
    ["a malformed extension on the last chunk", "5\r\nhello\r\n0; x\r\n\r\n"],
    ["a trailer line without a colon", "0\r\nNoColon\r\n\r\n"],
    ["a trailer with an empty name", "0\r\n: y\r\n\r\n"],
    ["a blank before a trailer colon", "0\r\nX : y\r\n\r\n"],
    ["an obs-folded trailer", "0\r\nX: y\r\n z\r\n\r\n"],
    ["a trailer starting with a blank", "0\r\n X: y\r\n\r\n"],
    ["a bare LF ending a trailer", "0\r\nX: y\n\r\n"],
    ["a bare LF ending the trailer section", "0\r\nX: y\r\n\n"],
    ["a bare LF as the empty line", "0\r\n\n"],
    ["a NUL in a trailer value", "0\r\nX: a\x00\r\n\r\n"],
    ["a VT leading a trailer value", "0\r\nX: \x0bz\r\n\r\n"],
    ["a FF ending a trailer value", "0\r\nX: z\x0c\r\n\r\n"],
    ["a bare CR in a trailer value", "0\r\nX: a\rb\r\n\r\n"],
    ["Content-Length in a trailer", "0\r\nContent-Length: 5\r\n\r\n"],
    ["Transfer-Encoding in a trailer", "0\r\ntransfer-encoding: chunked\r\n\r\n"],
    ["Connection in a trailer", "0\r\nConnection: close\r\n\r\n"],
    ["Proxy-Connection in a trailer", "0\r\nProxy-Connection: close\r\n\r\n"],
  ];
  for (const [what, text] of refused) {
    it(`refuses ${what}`, () => {
      const error = decodeError(text);
      expect(error.status).toBe(400);
      expect(error.code).toBe(ErrorCodes.BAD_REQUEST);
    });
  }

  it("takes zero-padded sizes, as node does, from clients and backends", () => {
    for (const limits of [CLIENT_CHUNK_LIMITS, BACKEND_CHUNK_LIMITS]) {
      const padded = `${"0".repeat(100)}5\r\nhello\r\n${"0".repeat(20)}\r\n\r\n`;
      expect(decodeAll(padded, limits).body.toString()).toBe("hello");
      expect(decodeInPieces(bytes(padded), [30, 101, 103]).body.toString()).toBe("hello");
    }
  });

  it("answers 502 for a backend's malformed body", () => {
    const error = decodeError("5 \r\nhello\r\n0\r\n\r\n", BACKEND_CHUNK_LIMITS);
    expect(error.status).toBe(502);
    expect(error.code).toBe(ErrorCodes.UPSTREAM_PROTOCOL);
  });

  it("refuses extensions over the limit with 413", () => {
    const limits = { ...CLIENT_CHUNK_LIMITS, maxExtensionBytes: 16 };
    expect(decodeAll(`1;${"a".repeat(16)}\r\nx\r\n0\r\n\r\n`, limits).body.toString()).toBe("x");
    const error = decodeError(`1;${"a".repeat(17)}\r\nx\r\n0\r\n\r\n`, limits);
    expect(error.status).toBe(413);
    expect(error.code).toBe(ErrorCodes.PAYLOAD_TOO_LARGE);
  });

  it("refuses a trailer section over the limit with 431", () => {
    const limits = { ...CLIENT_CHUNK_LIMITS, maxTrailerBytes: 32 };
    const error = decodeError(`0\r\nX: ${"v".repeat(40)}\r\n\r\n`, limits);
    expect(error.status).toBe(431);
    expect(error.code).toBe(ErrorCodes.HEADERS_TOO_LARGE);
    expect(decodeError(`0\r\n${"X: y\r\n".repeat(10)}\r\n`, limits).status).toBe(431);
  });
});
