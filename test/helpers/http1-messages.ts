/**
 * fast-check arbitraries of raw HTTP/1.x requests for the parser's
 * differential tests: mostly well-formed messages, salted with the bytes and
 * forms where parsers disagree (blanks and controls in odd places, obs-text,
 * CL/TE combinations and spellings, chunk sizes, extensions and trailers,
 * bare LF, absolute-form targets, HTTP/1.0, Connection options), so that a
 * good share is accepted by both parsers and compared byte for byte, and the
 * rest probes the refusals. Messages are latin1 strings.
 */
import fc from "fast-check";

const pick = <T>(...values: T[]) => fc.constantFrom(...values);

/** Mostly `usual`, sometimes one of `odd`. */
function mostly<T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>, oddWeight = 1): fc.Arbitrary<T> {
  return fc.oneof({ arbitrary: usual, weight: 24 }, { arbitrary: odd, weight: oddWeight });
}

const method = mostly(
  pick("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "QUERY", "PROPFIND"),
  pick("get", "FOO", "CONNECT", "PRI", "G\x00T", "GE T", "M-SEARCH", ""),
);

const pathByte = mostly(
  pick(..."abz09-._~/?=&%"),
  pick(..."#\"<>{}|\\^`[]'!$*+,;:@", "\x80", "\xff", "\x7f", "\x00", "\t", " ", "\x01"),
  2,
);
const path = fc.string({ unit: pathByte, maxLength: 12 }).map((rest) => `/${rest}`);

const host = pick("example.com", "a", "a.b:8080", "[::1]:80", "127.0.0.1", "A.example");

const target = (hostValue: string) =>
  mostly(
    path,
    fc.oneof(
      path.map((p) => `http://${hostValue}${p}`),
      path.map((p) => `HTTP://${hostValue}${p}`),
      pick(`http://${hostValue}`, `http://${hostValue}?q`, `https://${hostValue}/x`, `http://other/x`),
      pick("*", "*x", "a/b", "ftp://a/x", "http://u@a/", "http:///x", "http://a{/x", "//x"),
    ),
    2,
  );

const version = mostly(
  pick("HTTP/1.1", "HTTP/1.1", "HTTP/1.0"),
  pick("HTTP/1.2", "HTTP/2.0", "http/1.1", "HTTP/1.1 ", "HTTP/0.9"),
);

const nameByte = mostly(pick(..."abcxyzXYZ-_09!#"), pick(" ", "\t", "\x80", '"', "(", ":", "\x00"), 1);
const fieldName = mostly(
  pick("X-Test", "Accept", "User-Agent", "Cookie", "x-a", "X_B"),
  fc.string({ unit: nameByte, maxLength: 8 }),
);

const valueByte = mostly(
  pick(...'azAZ09 -,;=/"()'),
  pick("\t", "\x80", "\xa0", "\xff", "\x00", "\x0b", "\x0c", "\x7f", "\r", "\n", "\x1b"),
  1,
);
const fieldValue = fc.string({ unit: valueByte, maxLength: 12 });

/** Blanks that may surround a value. */
const blanks = mostly(pick("", " "), pick("  ", "\t", " \t", "\t ", "\xa0"));

/** The Connection and Transfer-Encoding spellings parsers are known to read differently. */
const connection = mostly(
  pick("keep-alive", "close", "Close", "Keep-Alive", "upgrade"),
  pick(
    "close, foo",
    "foo,close",
    "keep-alive, close",
    "close ",
    "close\t",
    "close\xa0",
    ",close",
    "closed",
    "",
  ),
);
const transferCoding = mostly(
  pick("chunked", "Chunked", "CHUNKED"),
  pick(
    "chunked, chunked",
    "gzip, chunked",
    "chunked, gzip",
    "identity",
    "xchunked",
    "chunked\t",
    "chunked\xa0",
    "\tchunked",
    ",chunked",
    "chunked,",
    "",
    "chun ked",
    "\x0bchunked",
  ),
  2,
);

interface Chunk {
  data: string;
  size: string;
  extension: string;
  lineEnd: string;
}

const chunkExtension = mostly(
  pick("", "", ";a", ";a=b", ';a="x y"', ";a=b;c"),
  pick(";", "; a", ";a =b", ";a=", ";a=b=c", ';a="b"c', ";a\rb", ";\x00", ";a=\x80", ";a\t", " ;a", '"'),
);

const chunk: fc.Arbitrary<Chunk> = fc
  .record({
    data: fc.string({
      unit: mostly(pick(..."abc\r\n0;"), pick("\x00", "\xff")),
      minLength: 1,
      maxLength: 20,
    }),
    form: mostly(
      pick("plain", "upper", "zeros"),
      pick("0x", "space", "tab", "plus", "longer", "shorter", "many-zeros"),
    ),
    extension: chunkExtension,
    lineEnd: mostly(pick("\r\n"), pick("\n", "\r", "\r\r\n")),
  })
  .map(({ data, form, extension, lineEnd }) => {
    const hex = data.length.toString(16);
    const size = {
      plain: hex,
      upper: hex.toUpperCase(),
      zeros: `00${hex}`,
      "0x": `0x${hex}`,
      space: `${hex} `,
      tab: `${hex}\t`,
      plus: `+${hex}`,
      longer: (data.length + 1).toString(16),
      shorter: (data.length - 1).toString(16),
      "many-zeros": `${"0".repeat(14)}${hex}`,
    }[form] as string;
    return { data, size, extension, lineEnd };
  });

const trailerLine = mostly(
  fc
    .tuple(pick("X-Sum", "Expires", "a"), fc.string({ unit: pick(..."ab 1\t"), maxLength: 6 }))
    .map(([name, value]) => `${name}:${value}`),
  pick("X : y", " X: y", "X", ": y", "X: \x0bz", "X: a\x00", "X: y\n", "X:\x80"),
);

const chunkedBody = fc
  .record({
    chunks: fc.array(chunk, { maxLength: 3 }),
    last: mostly(pick("0"), pick("00", "0000", "0 ", "0x0")),
    lastExtension: chunkExtension,
    trailers: fc.array(trailerLine, { maxLength: 2 }),
    end: mostly(pick("\r\n"), pick("\n", "")),
  })
  .map(
    ({ chunks, last, lastExtension, trailers, end }) =>
      chunks.map((c) => `${c.size}${c.extension}${c.lineEnd}${c.data}\r\n`).join("") +
      `${last}${lastExtension}\r\n${trailers.map((line) => `${line}\r\n`).join("")}${end}`,
  );

type Framing =
  | { kind: "none" }
  | { kind: "length"; value: string; body: string }
  | { kind: "chunked"; coding: string; body: string };

const lengthBody = fc.string({ unit: pick(..."abcxyz\r\n"), maxLength: 12 });
const lengthFraming: fc.Arbitrary<Framing> = fc
  .record({
    body: lengthBody,
    form: mostly(
      pick("exact", "exact", "zeros"),
      pick("plus", "list", "hex", "space-in", "short", "long", "empty", "neg", "huge"),
    ),
  })
  .map(({ body, form }) => {
    const n = body.length;
    const value = {
      exact: `${n}`,
      zeros: `000${n}`,
      plus: `+${n}`,
      list: `${n}, ${n}`,
      hex: `0x${n.toString(16)}`,
      "space-in": `${n} ${n}`,
      short: `${Math.max(0, n - 2)}`,
      long: `${n + 3}`,
      empty: "",
      neg: `-${n}`,
      huge: "9".repeat(20),
    }[form] as string;
    return { kind: "length" as const, value, body };
  });

const framing: fc.Arbitrary<Framing> = fc.oneof(
  { arbitrary: fc.constant<Framing>({ kind: "none" }), weight: 2 },
  { arbitrary: lengthFraming, weight: 3 },
  {
    arbitrary: fc
      .record({ coding: transferCoding, body: chunkedBody })
      .map(({ coding, body }): Framing => ({ kind: "chunked", coding, body })),
    weight: 4,
  },
);

/** A raw request: request line, fields, framing, body; latin1. */
export const rawRequest: fc.Arbitrary<string> = fc
  .record({
    leading: mostly(pick(""), pick("\r\n", "\r\n\r\n", "\n")),
    method,
    host,
    version,
    hostCount: mostly(pick(1), pick(0, 2)),
    extra: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 3 }),
    connection: fc.option(connection, { freq: 3 }),
    upgrade: fc.boolean(),
    expect: fc.option(pick("100-continue", "100-Continue", "other"), { freq: 5 }),
    framing,
    /** Both CL and TE, or two framing lines. */
    doubled: mostly(
      pick("no"),
      pick("cl+te", "te+cl", "cl twice", "te twice", "te obs-fold", "te space-colon"),
    ),
    pre: blanks,
    post: blanks,
    lineEnd: mostly(pick("\r\n"), pick("\n", "\r")),
  })
  .chain((r) => target(r.host).map((t) => ({ ...r, target: t })))
  .map((r) => {
    const fields: string[] = [];
    for (let i = 0; i < r.hostCount; i++) fields.push(`Host: ${r.host}`);
    for (const [name, value] of r.extra) fields.push(`${name}: ${value}`);
    if (r.connection !== null) fields.push(`Connection:${r.pre}${r.connection}${r.post}`);
    if (r.upgrade) fields.push("Upgrade: websocket");
    if (r.expect !== null) fields.push(`Expect: ${r.expect}`);
    let body = "";
    if (r.framing.kind === "length") {
      fields.push(`Content-Length:${r.pre}${r.framing.value}${r.post}`);
      body = r.framing.body;
      if (r.doubled === "cl twice") fields.push(`Content-Length: ${r.framing.value}`);
      if (r.doubled === "cl+te") fields.push("Transfer-Encoding: chunked");
    } else if (r.framing.kind === "chunked") {
      const te = `Transfer-Encoding:${r.pre}${r.framing.coding}${r.post}`;
      if (r.doubled === "te obs-fold") fields.push("Transfer-Encoding: gzip", ` ${r.framing.coding}`);
      else if (r.doubled === "te space-colon") fields.push(`Transfer-Encoding : ${r.framing.coding}`);
      else fields.push(te);
      if (r.doubled === "te twice") fields.push(te);
      if (r.doubled === "te+cl") fields.push(`Content-Length: ${r.framing.body.length}`);
      body = r.framing.body;
    }
    const head = [`${r.method} ${r.target} ${r.version}`, ...fields].join(r.lineEnd);
    return `${r.leading}${head}\r\n\r\n${body}`;
  });
