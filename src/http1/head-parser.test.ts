/**
 * Unit tests of the strict HTTP/1.1 head parser: every refusal rule the file
 * documents (limits → 414/431, HTTP/0.9, obs-fold, bare LF/CR, control bytes,
 * CL+TE, duplicate or malformed Content-Length, non-chunked final codings,
 * TE on HTTP/1.0, absolute-form vs Host, CONNECT → 405, unknown methods →
 * 501, Host rules) and the happy paths the proxy relies on to frame requests
 * and backend responses (keep-alive, upgrade, Expect, origin-form reduction,
 * response body framing). A framing mistake here is a request-smuggling hole,
 * so each rule is pinned with its status code.
 */
import { describe, expect, it } from "vitest";
import { ErrorCodes } from "../core/errors.js";
import {
  BODY_CHUNKED,
  BODY_LENGTH,
  BODY_NONE,
  BODY_UNTIL_CLOSE,
  DEFAULT_HEAD_LIMITS,
  hasOption,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  type ResponseHead,
} from "./head-parser.js";
import { HttpParseError } from "./parse-error.js";

const bytes = (text: string) => Buffer.from(text, "latin1");

function request(text: string, limits = DEFAULT_HEAD_LIMITS): RequestHead {
  const head = parseRequestHead(bytes(text), 0, limits);
  if (head === undefined) throw new Error("head unexpectedly incomplete");
  return head;
}

function response(text: string, method = "GET"): ResponseHead {
  const head = parseResponseHead(bytes(text), 0, method);
  if (head === undefined) throw new Error("head unexpectedly incomplete");
  return head;
}

/** The HttpParseError parsing `text` as a request throws. */
function requestError(text: string, limits = DEFAULT_HEAD_LIMITS): HttpParseError {
  try {
    parseRequestHead(bytes(text), 0, limits);
  } catch (error) {
    if (error instanceof HttpParseError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

function responseError(text: string, method = "GET"): HttpParseError {
  try {
    parseResponseHead(bytes(text), 0, method);
  } catch (error) {
    if (error instanceof HttpParseError) return error;
    throw error;
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

const GET = "GET / HTTP/1.1\r\nHost: example.com\r\n";
const POST = "POST /upload HTTP/1.1\r\nHost: example.com\r\n";

describe("parseRequestHead: happy paths", () => {
  it("parses a minimal HTTP/1.1 request", () => {
    const head = request(`${GET}\r\n`);
    expect(head).toMatchObject({
      method: "GET",
      target: "/",
      minor: 1,
      host: "example.com",
      headers: ["Host", "example.com"],
      bodyKind: BODY_NONE,
      contentLength: 0,
      keepAlive: true,
      upgrade: false,
      expectContinue: false,
      size: GET.length + 2,
    });
  });

  it("keeps header names' case and order, strips blanks around values but not inside", () => {
    const head = request(`${GET}X-One:  a \t b \t\r\nx-two:\r\nX-THREE:\tv\r\n\r\n`);
    expect(head.headers).toEqual(["Host", "example.com", "X-One", "a \t b", "x-two", "", "X-THREE", "v"]);
  });

  it("keeps obs-text (bytes 0x80-0xFF) in values as latin1", () => {
    expect(request(`${GET}X: caf\xe9\xff\r\n\r\n`).headers[3]).toBe("caf\xe9\xff");
  });

  it("returns undefined until the empty line has arrived, at any split", () => {
    const text = `${POST}Content-Length: 3\r\n\r\n`;
    for (let cut = 0; cut < text.length; cut++) {
      expect(parseRequestHead(bytes(text.slice(0, cut)), 0)).toBeUndefined();
    }
    expect(parseRequestHead(bytes(text), 0)?.size).toBe(text.length);
  });

  it("parses at an offset, and the size counts from it", () => {
    const first = `${GET}\r\n`;
    const second = `${POST}Content-Length: 2\r\n\r\nhi`;
    const buf = bytes(first + second);
    const head = parseRequestHead(buf, first.length);
    expect(head?.method).toBe("POST");
    expect(head?.size).toBe(second.length - 2);
  });

  it("skips empty lines before the request line and counts them in the size", () => {
    const head = request(`\r\n\r\n${GET}\r\n`);
    expect(head.method).toBe("GET");
    expect(head.size).toBe(4 + GET.length + 2);
    expect(parseRequestHead(bytes("\r\n\r\n"), 0)).toBeUndefined();
    expect(parseRequestHead(bytes("\r\n\r"), 0)).toBeUndefined();
  });

  it("refuses more leading empty lines than the head limit", () => {
    const limits = { ...DEFAULT_HEAD_LIMITS, maxHeadBytes: 64 };
    expect(requestError(`${"\r\n".repeat(40)}${GET}\r\n`, limits).status).toBe(431);
  });

  it("frames a Content-Length body", () => {
    const head = request(`${POST}Content-Length: 42\r\n\r\n`);
    expect(head.bodyKind).toBe(BODY_LENGTH);
    expect(head.contentLength).toBe(42);
  });

  it("takes Content-Length: 0 and leading zeros", () => {
    expect(request(`${POST}Content-Length: 0\r\n\r\n`).bodyKind).toBe(BODY_NONE);
    expect(request(`${POST}Content-Length: 007\r\n\r\n`).contentLength).toBe(7);
    expect(request(`${POST}content-length:\t5 \r\n\r\n`).contentLength).toBe(5);
  });

  it("frames a chunked body, whatever the case of the coding", () => {
    for (const coding of ["chunked", "Chunked", "CHUNKED", " chunked ", "\tchunked"]) {
      const head = request(`${POST}Transfer-Encoding:${coding}\r\n\r\n`);
      expect(head.bodyKind).toBe(BODY_CHUNKED);
    }
  });

  it("follows the HTTP/1.1 keep-alive rules", () => {
    expect(request(`${GET}\r\n`).keepAlive).toBe(true);
    expect(request(`${GET}Connection: close\r\n\r\n`).keepAlive).toBe(false);
    expect(request(`${GET}Connection: Close\r\n\r\n`).keepAlive).toBe(false);
    expect(request(`${GET}Connection: keep-alive, close\r\n\r\n`).keepAlive).toBe(false);
    expect(request(`${GET}Connection: foo\r\nConnection: close\r\n\r\n`).keepAlive).toBe(false);
    expect(request(`${GET}Connection: keep-alive\r\n\r\n`).keepAlive).toBe(true);
    expect(request(`${GET}Connection: closed\r\n\r\n`).keepAlive).toBe(true);
  });

  it("follows the HTTP/1.0 keep-alive rules", () => {
    expect(request("GET / HTTP/1.0\r\n\r\n").keepAlive).toBe(false);
    expect(request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keepAlive).toBe(true);
    expect(request("GET / HTTP/1.0\r\nConnection: Keep-Alive, foo\r\n\r\n").keepAlive).toBe(true);
    expect(request("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keepAlive).toBe(false);
  });

  it("takes HTTP/1.0 without Host (host undefined)", () => {
    const head = request("GET /x HTTP/1.0\r\n\r\n");
    expect(head).toMatchObject({ minor: 0, host: undefined, target: "/x", headers: [] });
  });

  it("marks upgrades only with both Connection: upgrade and an Upgrade field", () => {
    expect(request(`${GET}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n`).upgrade).toBe(true);
    expect(request(`${GET}Connection: keep-alive, upgrade\r\nupgrade: foo\r\n\r\n`).upgrade).toBe(true);
    expect(request(`${GET}Upgrade: websocket\r\n\r\n`).upgrade).toBe(false);
    expect(request(`${GET}Connection: upgrade\r\n\r\n`).upgrade).toBe(false);
  });

  it("reads Proxy-Connection as Connection, as llhttp does", () => {
    expect(request(`${GET}Proxy-Connection: close\r\n\r\n`).keepAlive).toBe(false);
    expect(request("GET / HTTP/1.0\r\nproxy-connection: keep-alive\r\n\r\n").keepAlive).toBe(true);
    expect(request(`${GET}Proxy-Connection: upgrade\r\nUpgrade: websocket\r\n\r\n`).upgrade).toBe(true);
  });

  it("takes Upgrade: h2c as no upgrade: the request is answered as it is, body and all (no h2c smuggling)", () => {
    const h2c =
      "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: H2C\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n";
    expect(request(`${GET}${h2c}\r\n`).upgrade).toBe(false);
    expect(request(`${POST}${h2c}Content-Length: 5\r\n\r\n`)).toMatchObject({
      upgrade: false,
      contentLength: 5,
    });
  });

  it("refuses an Upgrade request with a body (the tunnel would pass it on unframed)", () => {
    const upgrade = "Connection: upgrade\r\nUpgrade: websocket\r\n";
    expect(requestError(`${POST}${upgrade}Content-Length: 5\r\n\r\n`).message).toBe(
      "an Upgrade request cannot carry a body",
    );
    expect(requestError(`${POST}${upgrade}Transfer-Encoding: chunked\r\n\r\n`).status).toBe(400);
    expect(request(`${POST}${upgrade}Content-Length: 0\r\n\r\n`).upgrade).toBe(true);
  });

  it("takes an empty Upgrade field as no upgrade", () => {
    expect(request(`${GET}Connection: upgrade\r\nUpgrade: \r\n\r\n`).upgrade).toBe(false);
  });

  it("notes Expect: 100-continue, in any case", () => {
    expect(request(`${POST}Expect: 100-continue\r\nContent-Length: 1\r\n\r\n`).expectContinue).toBe(true);
    expect(request(`${POST}expect: 100-Continue\r\n\r\n`).expectContinue).toBe(true);
    expect(request(`${POST}Expect: something-else\r\n\r\n`).expectContinue).toBe(false);
  });

  it("reduces an absolute-form target to origin form and takes its authority as host", () => {
    expect(request("GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n")).toMatchObject({
      target: "/a?b",
      host: "example.com",
    });
    expect(request("GET HTTPS://Example.com:8443 HTTP/1.1\r\nHost: example.com:8443\r\n\r\n")).toMatchObject({
      target: "/",
      host: "Example.com:8443",
    });
    expect(request("GET http://example.com?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n").target).toBe("/?q=1");
    expect(request("GET http://[::1]:80/x HTTP/1.0\r\n\r\n")).toMatchObject({
      target: "/x",
      host: "[::1]:80",
    });
  });

  it("keeps an origin-form target as sent, fragment and odd visible bytes included", () => {
    expect(request("GET //a/../b?c=%20#f HTTP/1.1\r\nHost: h\r\n\r\n").target).toBe("//a/../b?c=%20#f");
    expect(request('GET /a{b}|^`"<>\\ HTTP/1.1\r\nHost: h\r\n\r\n').target).toBe('/a{b}|^`"<>\\');
  });

  it("takes OPTIONS *", () => {
    expect(request("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").target).toBe("*");
  });

  it("takes every method node:http knows but CONNECT", () => {
    for (const method of ["DELETE", "PATCH", "PROPFIND", "QUERY", "PURGE", "M-SEARCH", "SOURCE"]) {
      expect(request(`${method} / HTTP/1.1\r\nHost: h\r\n\r\n`).method).toBe(method);
    }
  });

  it("takes an empty Host and a host with a port", () => {
    expect(request("GET / HTTP/1.1\r\nHost:\r\n\r\n").host).toBe("");
    expect(request("GET / HTTP/1.1\r\nhost: a.b:8080\r\n\r\n").host).toBe("a.b:8080");
  });

  it("accepts exactly the limits", () => {
    const limits = { maxHeadBytes: 200, maxHeaders: 3, maxTargetBytes: 20 };
    const target = `/${"t".repeat(19)}`;
    const head = request(`GET ${target} HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n`, limits);
    expect(head.target).toBe(target);
    const filler = "x".repeat(200 - `GET / HTTP/1.1\r\nHost: h\r\nF: \r\n\r\n`.length);
    expect(request(`GET / HTTP/1.1\r\nHost: h\r\nF: ${filler}\r\n\r\n`, limits).size).toBe(200);
  });
});

describe("parseRequestHead: refusals", () => {
  const cases: Array<[string, string, number]> = [
    ["an HTTP/0.9 request line", "GET /\r\n\r\n", 400],
    ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 400],
    ["HTTP/1.2", "GET / HTTP/1.2\r\nHost: h\r\n\r\n", 400],
    ["a lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400],
    ["a blank after the version", "GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400],
    ["two spaces before the target", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["tabs as separators", "GET\t/\tHTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["a control byte in the target", "GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["DEL in the target", "GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["a byte above 0x7E in the target", "GET /caf\xe9 HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["a relative target", "GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["a non-http scheme", "GET ftp://h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["userinfo in the authority", "GET http://u@h/x HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["an empty authority", "GET http:///x HTTP/1.1\r\nHost: \r\n\r\n", 400],
    ["a bad byte in the authority", "GET http://a{/x HTTP/1.0\r\n\r\n", 400],
    ["a fragment right after the authority", "GET http://a#x HTTP/1.0\r\n\r\n", 400],
    ["an authority that differs from Host", "GET http://a/x HTTP/1.1\r\nHost: b\r\n\r\n", 400],
    ["an authority whose port differs from Host", "GET http://a:81/x HTTP/1.1\r\nHost: a\r\n\r\n", 400],
    ["* with a method other than OPTIONS", "GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["*x", "OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["a lower-case method", "get / HTTP/1.1\r\nHost: h\r\n\r\n", 501],
    ["an unknown method", "BREW / HTTP/1.1\r\nHost: h\r\n\r\n", 501],
    ["PRI (HTTP/2 preface)", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 501],
    ["a method that is not a token", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    ["CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n", 405],
    ["a missing Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400],
    ["an absolute-form target without Host in HTTP/1.1", "GET http://h/ HTTP/1.1\r\n\r\n", 400],
    ["two Host fields", `${GET}Host: other\r\n\r\n`, 400],
    ["two Host fields with the same value", `${GET}host: example.com\r\n\r\n`, 400],
    ["a Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400],
    ["a Host with a path", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400],
    ["obs-fold", `${GET}X: a\r\n b\r\n\r\n`, 400],
    ["obs-fold with a tab", `${GET}X: a\r\n\tb\r\n\r\n`, 400],
    ["a space before the first field", "GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400],
    ["a blank before the colon", `${GET}Transfer-Encoding : chunked\r\n\r\n`, 400],
    ["a tab before the colon", `${GET}X\t: y\r\n\r\n`, 400],
    ["an empty field name", `${GET}: y\r\n\r\n`, 400],
    ["a field line without a colon", `${GET}NoColon\r\n\r\n`, 400],
    ["a quote in a field name", `${GET}X-"y": y\r\n\r\n`, 400],
    ["a byte above 0x7E in a field name", `${GET}X\xe9: y\r\n\r\n`, 400],
    ["a bare LF ending a field line", `${GET}X: y\n\r\n`, 400],
    ["a bare LF ending the request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400],
    ["bare LFs only", "GET / HTTP/1.1\nHost: h\n\n", 400],
    ["a bare LF before the request line", `\n${GET}\r\n`, 400],
    ["a bare CR inside a value", `${GET}X: a\rb\r\n\r\n`, 400],
    ["a bare CR before CRLF", `${GET}X: y\r\r\n\r\n`, 400],
    ["a CR ending the head early", `${GET}\r\r\n`, 400],
    ["NUL in a value", `${GET}X: a\x00b\r\n\r\n`, 400],
    ["a control byte in a value", `${GET}X: a\x1bb\r\n\r\n`, 400],
    ["VT in a value", `${GET}X: \x0bb\r\n\r\n`, 400],
    ["DEL in a value", `${GET}X: a\x7f\r\n\r\n`, 400],
    ["NUL in the method", "G\x00T / HTTP/1.1\r\nHost: h\r\n\r\n", 400],
    [
      "Content-Length and Transfer-Encoding",
      `${POST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`,
      400,
    ],
    [
      "Transfer-Encoding and Content-Length",
      `${POST}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n`,
      400,
    ],
    ["two Content-Length fields", `${POST}Content-Length: 5\r\nContent-Length: 5\r\n\r\n`, 400],
    ["a Content-Length list", `${POST}Content-Length: 5, 5\r\n\r\n`, 400],
    ["a signed Content-Length", `${POST}Content-Length: +5\r\n\r\n`, 400],
    ["a negative Content-Length", `${POST}Content-Length: -1\r\n\r\n`, 400],
    ["a hex Content-Length", `${POST}Content-Length: 0x5\r\n\r\n`, 400],
    ["an empty Content-Length", `${POST}Content-Length: \r\n\r\n`, 400],
    ["a Content-Length with inner blanks", `${POST}Content-Length: 5 5\r\n\r\n`, 400],
    ["a Content-Length with a trailing tab", `${POST}Content-Length: 5\t\r\n\r\n`, 400],
    ["a 16-digit Content-Length", `${POST}Content-Length: ${"9".repeat(16)}\r\n\r\n`, 400],
    ["a coding other than chunked", `${POST}Transfer-Encoding: gzip\r\n\r\n`, 400],
    ["identity", `${POST}Transfer-Encoding: identity\r\n\r\n`, 400],
    ["chunked not last", `${POST}Transfer-Encoding: chunked, gzip\r\n\r\n`, 400],
    ["gzip, chunked", `${POST}Transfer-Encoding: gzip, chunked\r\n\r\n`, 400],
    ["chunked twice", `${POST}Transfer-Encoding: chunked, chunked\r\n\r\n`, 400],
    ["two chunked lines", `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 400],
    ["xchunked", `${POST}Transfer-Encoding: xchunked\r\n\r\n`, 400],
    ["chunked with a trailing tab", `${POST}Transfer-Encoding: chunked\t\r\n\r\n`, 400],
    ["chunked with a trailing NBSP", `${POST}Transfer-Encoding: chunked\xa0\r\n\r\n`, 400],
    ["an empty Transfer-Encoding", `${POST}Transfer-Encoding: \r\n\r\n`, 400],
    ["chunked on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
    ["a tab in Connection", `${GET}Connection: close\t\r\n\r\n`, 400],
    ["a tab inside Connection", "GET / HTTP/1.0\r\nConnection: keep-alive\t, x\r\n\r\n", 400],
  ];
  for (const [what, text, status] of cases) {
    it(`refuses ${what} with ${status}`, () => {
      const error = requestError(text);
      expect(error.status).toBe(status);
      expect(error.code).toBe(status === 405 ? ErrorCodes.METHOD_NOT_ALLOWED : ErrorCodes.BAD_REQUEST);
    });
  }

  it("reaches the same verdict when the head arrives a byte at a time", () => {
    const limits = { ...DEFAULT_HEAD_LIMITS, maxTargetBytes: 20, maxHeadBytes: 100 };
    const heads = [
      ...cases.map(([, text]) => text),
      `${GET}X: 1\r\n\r\n`,
      `\r\n\r\n${GET}\r\n`,
      "GET / HTTP/1.1\r\nHo\nst: h\r\n\r\n",
      `GET /${"a".repeat(60)}`,
      `GET / HTTP/1.1\r\nHost: h\r\nX: ${"v".repeat(100)}`,
    ];
    const verdict = (parse: () => RequestHead | undefined): string => {
      try {
        const head = parse();
        return head === undefined ? "incomplete" : `${head.method} ${head.target} ${head.size}`;
      } catch (error) {
        return String((error as HttpParseError).status);
      }
    };
    for (const text of heads) {
      const whole = bytes(text);
      let scanned = 0;
      let trickled = "incomplete";
      for (let i = 1; i <= whole.length && trickled === "incomplete"; i++) {
        trickled = verdict(() => parseRequestHead(whole.subarray(0, i), 0, limits, scanned));
        scanned = i;
      }
      expect(trickled, JSON.stringify(text)).toBe(verdict(() => parseRequestHead(whole, 0, limits)));
    }
  });

  it("refuses a bare LF or CR before the head is complete", () => {
    expect(requestError("GET / HTTP/1.1\nHo").status).toBe(400);
    expect(requestError("GET / HTTP/1.1\rHo").status).toBe(400);
  });

  it("refuses a target over the limit with 414, complete or not", () => {
    const limits = { ...DEFAULT_HEAD_LIMITS, maxTargetBytes: 20 };
    const long = `/${"a".repeat(20)}`;
    expect(requestError(`GET ${long} HTTP/1.1\r\nHost: h\r\n\r\n`, limits).status).toBe(414);
    expect(requestError(`GET ${long}${"a".repeat(40)}`, limits).code).toBe(ErrorCodes.URI_TOO_LONG);
    expect(parseRequestHead(bytes(`GET ${long}`), 0, limits)).toBeUndefined();
    expect(requestError(`GET /${"a".repeat(8192)} HTTP/1.1\r\nHost: h\r\n\r\n`).status).toBe(414);
  });

  it("refuses a head over the byte limit with 431, complete or not", () => {
    const limits = { ...DEFAULT_HEAD_LIMITS, maxHeadBytes: 100 };
    const big = `GET / HTTP/1.1\r\nHost: h\r\nX: ${"v".repeat(100)}`;
    expect(requestError(`${big}\r\n\r\n`, limits).status).toBe(431);
    expect(requestError(big, limits).code).toBe(ErrorCodes.HEADERS_TOO_LARGE);
    expect(requestError(`GET / HTTP/1.1\r\nHost: h\r\nX: ${"v".repeat(16_384)}\r\n\r\n`).status).toBe(431);
  });

  it("refuses more header fields than the limit with 431", () => {
    const fields = (n: number) => Array.from({ length: n }, (_, i) => `X-${i}: ${i}\r\n`).join("");
    expect(request(`${GET}${fields(99)}\r\n`).headers.length).toBe(200);
    const error = requestError(`${GET}${fields(100)}\r\n`);
    expect(error.status).toBe(431);
    expect(error.code).toBe(ErrorCodes.HEADERS_TOO_LARGE);
  });
});

describe("parseResponseHead", () => {
  it("parses a status line, reason and fields", () => {
    const head = response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\n");
    expect(head).toMatchObject({
      status: 200,
      reason: "OK",
      minor: 1,
      headers: ["Content-Length", "5", "X", "y"],
      bodyKind: BODY_LENGTH,
      contentLength: 5,
      keepAlive: true,
    });
  });

  it("takes a status line without a reason, with or without the space", () => {
    expect(response("HTTP/1.1 204\r\n\r\n")).toMatchObject({ status: 204, reason: "" });
    expect(response("HTTP/1.1 204 \r\n\r\n")).toMatchObject({ status: 204, reason: "" });
    expect(response("HTTP/1.1 404 Not  Found \xe9\r\nContent-Length: 0\r\n\r\n").reason).toBe(
      "Not  Found \xe9",
    );
  });

  it("frames no body for HEAD, 1xx, 204 and 304, whatever the fields say", () => {
    const fields = "Content-Length: 10\r\n\r\n";
    expect(response(`HTTP/1.1 200 OK\r\n${fields}`, "HEAD").bodyKind).toBe(BODY_NONE);
    expect(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD").bodyKind).toBe(
      BODY_NONE,
    );
    expect(response(`HTTP/1.1 100 Continue\r\n${fields}`).bodyKind).toBe(BODY_NONE);
    expect(response(`HTTP/1.1 103 Early Hints\r\n${fields}`).bodyKind).toBe(BODY_NONE);
    expect(response(`HTTP/1.1 204 No Content\r\n${fields}`).bodyKind).toBe(BODY_NONE);
    expect(response(`HTTP/1.1 304 Not Modified\r\n${fields}`).bodyKind).toBe(BODY_NONE);
    expect(response(`HTTP/1.1 304 Not Modified\r\n${fields}`).keepAlive).toBe(true);
  });

  it("frames a chunked body", () => {
    const head = response("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n");
    expect(head.bodyKind).toBe(BODY_CHUNKED);
    expect(head.keepAlive).toBe(true);
  });

  it("frames a Content-Length body, and none for Content-Length: 0", () => {
    expect(response("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n").contentLength).toBe(12);
    expect(response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").bodyKind).toBe(BODY_NONE);
  });

  it("reads until close without framing fields", () => {
    const head = response("HTTP/1.1 200 OK\r\n\r\n");
    expect(head.bodyKind).toBe(BODY_UNTIL_CLOSE);
    expect(head.keepAlive).toBe(false);
  });

  it("follows the keep-alive rules", () => {
    expect(response("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").keepAlive).toBe(
      false,
    );
    expect(response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keepAlive).toBe(false);
    expect(response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n").keepAlive).toBe(
      true,
    );
  });

  it("marks 101 as an upgrade", () => {
    const head = response(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n",
    );
    expect(head.upgrade).toBe(true);
    expect(head.bodyKind).toBe(BODY_NONE);
  });

  it("returns undefined until complete", () => {
    const text = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    for (let cut = 0; cut < text.length; cut++) {
      expect(parseResponseHead(bytes(text.slice(0, cut)), 0, "GET")).toBeUndefined();
    }
  });

  const refused: Array<[string, string]> = [
    ["a missing status", "HTTP/1.1\r\n\r\n"],
    ["a two-digit status", "HTTP/1.1 20 OK\r\n\r\n"],
    ["a four-digit status", "HTTP/1.1 2000 OK\r\n\r\n"],
    ["a status below 100", "HTTP/1.1 099 Low\r\n\r\n"],
    ["HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n"],
    ["a lower-case version", "http/1.1 200 OK\r\n\r\n"],
    ["a control byte in the reason", "HTTP/1.1 200 O\x01K\r\n\r\n"],
    [
      "Content-Length with Transfer-Encoding",
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
    ["two Content-Length fields", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"],
    ["a malformed Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 1a\r\n\r\n"],
    ["gzip before chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"],
    // Framed by close (RFC 9112 6.3), but the coding would reach the client as content.
    ["a coding other than chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"],
    ["chunked before another coding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"],
    ["obs-fold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n"],
    ["a bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"],
    ["NUL in a value", "HTTP/1.1 200 OK\r\nX: \x00\r\nContent-Length: 0\r\n\r\n"],
    ["a trailing tab after chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\t\r\n\r\n"],
  ];
  for (const [what, text] of refused) {
    it(`refuses ${what} with 502`, () => {
      const error = responseError(text);
      expect(error.status).toBe(502);
      expect(error.code).toBe(ErrorCodes.UPSTREAM_PROTOCOL);
    });
  }

  it("answers 502 to a head or field count over the limits", () => {
    const limits = { maxHeadBytes: 64, maxHeaders: 2, maxTargetBytes: 64 };
    const tooBig = () =>
      parseResponseHead(bytes(`HTTP/1.1 200 OK\r\nX: ${"v".repeat(80)}\r\n\r\n`), 0, "GET", limits);
    expect(tooBig).toThrow(HttpParseError);
    expect(() => tooBig()).toThrow(expect.objectContaining({ status: 502 }));
    const tooMany = () =>
      parseResponseHead(bytes("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), 0, "GET", limits);
    expect(tooMany).toThrow(expect.objectContaining({ status: 502, code: ErrorCodes.UPSTREAM_PROTOCOL }));
  });
});

describe("hasOption", () => {
  it("finds an option in a comma-separated list, ignoring case and blanks", () => {
    expect(hasOption("close", "close")).toBe(true);
    expect(hasOption("KEEP-ALIVE", "keep-alive")).toBe(true);
    expect(hasOption("Keep-Alive , Upgrade", "upgrade")).toBe(true);
    expect(hasOption("keep-alive", "close")).toBe(false);
    expect(hasOption(" Close\t", "close")).toBe(true);
    expect(hasOption("closed", "close")).toBe(false);
    expect(hasOption(undefined, "close")).toBe(false);
  });

  it("strips only SP and HTAB, never NBSP", () => {
    expect(hasOption("close\xa0", "close")).toBe(false);
    expect(hasOption("foo, close\xa0", "close")).toBe(false);
  });
});
