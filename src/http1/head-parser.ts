/**
 * Strict HTTP/1.1 message-head parser (RFC 9112), for requests from clients
 * and responses from backends. A head is parsed only once it is complete (the
 * empty line has arrived), from one latin1 string, in one pass over its lines;
 * until then `parse*Head` returns undefined, or throws as soon as the bytes
 * already received break a limit or the grammar. It decides the body framing
 * the way a smuggling-safe proxy must (RFC 9112 §6.3): Transfer-Encoding and
 * Content-Length together, duplicate or malformed lengths, a final coding
 * other than chunked, obs-fold, bare LF, and control bytes in a value are all
 * refused rather than guessed at, so the backend and the proxy can never
 * disagree on where a message ends. What node:http's llhttp refuses is
 * refused here too (the method list is node's); the differential tests in
 * head-parser.oracle.test.ts hold the two side by side.
 *
 * One file, over 400 lines, on purpose: the scan over a head's lines and every
 * refusal it can make must be read together to see that no input is both
 * accepted here and read differently by a backend.
 */
import { METHODS } from "node:http";
import { ErrorCodes } from "../core/errors.js";
import { isNamed } from "./header-names.js";
import { isToken, TCHAR } from "./http-token.js";
import { HttpParseError } from "./parse-error.js";

/** No body follows the head. */
export const BODY_NONE = 0;
/** `contentLength` bytes follow. */
export const BODY_LENGTH = 1;
/** A chunked body follows (chunked-decoder.ts). */
export const BODY_CHUNKED = 2;
/** The body runs until the connection closes (responses only). */
export const BODY_UNTIL_CLOSE = 3;
export type BodyKind = typeof BODY_NONE | typeof BODY_LENGTH | typeof BODY_CHUNKED | typeof BODY_UNTIL_CLOSE;

export interface HeadLimits {
  /** Largest head in bytes, start line to the empty line; larger gets 431 (requests). */
  maxHeadBytes: number;
  /** Most header fields; more gets 431 (requests). */
  maxHeaders: number;
  /** Longest request target in bytes; longer gets 414. */
  maxTargetBytes: number;
}

export const DEFAULT_HEAD_LIMITS: Readonly<HeadLimits> = Object.freeze({
  maxHeadBytes: 16_384,
  maxHeaders: 100,
  maxTargetBytes: 8_192,
});

interface MessageHead {
  /** Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  /** Flat `[name, value, ...]` list as received: names keep their case, values lose surrounding blanks. */
  headers: string[];
  bodyKind: BodyKind;
  /** Declared body length, when `bodyKind` is BODY_LENGTH. */
  contentLength: number;
  /** Whether the connection may carry another message after this one. */
  keepAlive: boolean;
  /** `Connection: upgrade` with an `Upgrade` field. */
  upgrade: boolean;
  /** Bytes of the head, start line through the empty line. */
  size: number;
}

export interface RequestHead extends MessageHead {
  method: string;
  /** The target in origin form (`/path?query`), `*` for OPTIONS; an absolute-form target is reduced to it. */
  target: string;
  /** The Host field (or the absolute-form authority); undefined only for HTTP/1.0 without one. */
  host: string | undefined;
  /** `Expect: 100-continue` was sent. */
  expectContinue: boolean;
}

export interface ResponseHead extends MessageHead {
  status: number;
  reason: string;
}

const KNOWN_METHODS = new Set(METHODS);
const HEAD_END = Buffer.from("\r\n\r\n", "latin1");
const CRLF = Buffer.from("\r\n", "latin1");
const HTTP_1 = "HTTP/1.";
const CR = 13;
const LF = 10;

/** Characters of a Host value: reg-name, IPv4, bracketed IPv6 and a port. */
const HOST_VALUE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/;

/**
 * Parses the request head at `offset` of `buf`. Undefined when it is not
 * complete yet; throws HttpParseError (with the status to answer) when it is
 * malformed or over a limit. Empty lines before the request line are skipped
 * (RFC 9112 §2.2) and counted in `size`. `scanned`: how much of `buf` an
 * earlier call already looked at and found incomplete (the same bytes, fewer
 * of them), so a head that arrives a byte at a time is scanned once, not once
 * per byte.
 */
export function parseRequestHead(
  buf: Buffer,
  offset: number,
  limits: Readonly<HeadLimits> = DEFAULT_HEAD_LIMITS,
  scanned = offset,
): RequestHead | undefined {
  let start = offset;
  while (start + 1 < buf.length && buf[start] === CR && buf[start + 1] === LF) start += 2;
  // Empty lines are skipped but buffered all the same: they count towards the head limit.
  if (start - offset > limits.maxHeadBytes) throw headTooLarge();
  const end = findHeadEnd(buf, start, limits.maxHeadBytes, limits.maxTargetBytes, Math.max(start, scanned));
  if (end < 0) {
    // A request line that can never be valid (junk, a second PROXY line) is refused once it
    // ends, not when the head does or at the head timeout; checked once, when its end is new.
    const firstLineEnd = buf.indexOf(CRLF, start);
    if (firstLineEnd >= Math.max(start, scanned - 1)) {
      parseRequestLine(buf.toString("latin1", start, firstLineEnd), limits);
    }
    return undefined;
  }
  const text = buf.toString("latin1", start, end);
  const lineEnd = text.indexOf("\r\n");
  const { method, rawTarget, minor } = parseRequestLine(lineEnd < 0 ? text : text.slice(0, lineEnd), limits);
  const fields = parseFields(text, lineEnd < 0 ? text.length : lineEnd + 2, limits.maxHeaders, true);
  const head: RequestHead = {
    method,
    target: rawTarget,
    minor,
    headers: fields.headers,
    bodyKind: BODY_NONE,
    contentLength: 0,
    keepAlive: keepAlive(minor, fields.connection),
    upgrade: fields.upgrade && hasOption(fields.connection, "upgrade"),
    size: end + 4 - offset,
    host: fields.host,
    expectContinue: fields.expect !== undefined && fields.expect.toLowerCase() === "100-continue",
  };
  if (fields.hostCount > 1) throw badRequest("more than one Host header");
  if (fields.host !== undefined && !HOST_VALUE.test(fields.host)) throw badRequest("malformed Host header");
  if (minor === 1 && fields.hostCount === 0) throw badRequest("an HTTP/1.1 request needs a Host header");
  normalizeTarget(head, rawTarget);
  if (fields.transferEncoding !== undefined) {
    if (fields.contentLength !== undefined)
      throw badRequest("both Content-Length and Transfer-Encoding are present");
    if (minor === 0) throw badRequest("Transfer-Encoding in an HTTP/1.0 request");
    if (!isChunkedOnly(fields.transferEncoding))
      throw badRequest("only the chunked transfer coding is supported");
    head.bodyKind = BODY_CHUNKED;
  } else if (fields.contentLength !== undefined) {
    head.contentLength = contentLength(fields.contentLength, fields.contentLengthCount);
    head.bodyKind = head.contentLength > 0 ? BODY_LENGTH : BODY_NONE;
  }
  // The proxy tunnels an Upgrade from the end of its head: a body there would
  // reach a backend that does not switch protocols unframed. No WebSocket handshake has one.
  if (head.upgrade && head.bodyKind !== BODY_NONE) throw badRequest("an Upgrade request cannot carry a body");
  return head;
}

/** The request line's method, target and HTTP minor version; throws HttpParseError when it is not one we take. */
function parseRequestLine(
  line: string,
  limits: Readonly<HeadLimits>,
): { method: string; rawTarget: string; minor: number } {
  const sp1 = line.indexOf(" ");
  const sp2 = sp1 < 0 ? -1 : line.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 < 0) throw badRequest("malformed request line");
  const method = line.slice(0, sp1);
  // GET and POST, most requests, skip hashing the method for the set lookup.
  if (method !== "GET" && method !== "POST" && !KNOWN_METHODS.has(method)) {
    // 501 (not the code's 400) only for what reads as an HTTP request line; anything else is not HTTP at all.
    throw isToken(method) && line.startsWith("HTTP/", sp2 + 1)
      ? new HttpParseError(ErrorCodes.BAD_REQUEST, `method ${method} is not supported`, 501)
      : badRequest("malformed request line");
  }
  const rawTarget = line.slice(sp1 + 1, sp2);
  if (rawTarget.length > limits.maxTargetBytes) {
    throw new HttpParseError(ErrorCodes.URI_TOO_LONG, "the request target is too long");
  }
  if (rawTarget.length === 0 || !isVisible(rawTarget)) throw badRequest("malformed request target");
  // The version ends the line.
  const minor = line.length === sp2 + 9 ? versionMinor(line, sp2 + 1) : -1;
  if (minor < 0) throw badRequest("unsupported HTTP version");
  if (method === "CONNECT") {
    throw new HttpParseError(ErrorCodes.METHOD_NOT_ALLOWED, "CONNECT is not supported by this proxy");
  }
  return { method, rawTarget, minor };
}

/**
 * Parses the response head at `offset` of `buf`, answering a request with
 * `method`. Undefined when incomplete; throws HttpParseError (status 502)
 * when the backend's head is malformed or over `limits`. `scanned`: how far
 * an earlier call searched the same bytes for the head's end (not again).
 */
export function parseResponseHead(
  buf: Buffer,
  offset: number,
  method: string,
  limits: Readonly<HeadLimits> = DEFAULT_HEAD_LIMITS,
  scanned = offset,
): ResponseHead | undefined {
  let text: string;
  let end: number;
  try {
    end = findHeadEnd(buf, offset, limits.maxHeadBytes, limits.maxHeadBytes, Math.max(offset, scanned));
    if (end < 0) return undefined;
    text = buf.toString("latin1", offset, end);
  } catch (error) {
    throw badResponse(error instanceof HttpParseError ? error.message : "malformed response head");
  }
  const lineEnd = text.indexOf("\r\n");
  const line = lineEnd < 0 ? text : text.slice(0, lineEnd);
  const minor = versionMinor(line, 0);
  if (minor < 0 || line.length < 12 || line.charCodeAt(8) !== 32) throw badResponse("malformed status line");
  const status = threeDigits(line, 9);
  if (status < 100 || (line.length > 12 && line.charCodeAt(12) !== 32)) {
    throw badResponse("malformed status line");
  }
  const reason = line.length > 13 ? line.slice(13) : "";
  if (!isFieldValue(reason)) throw badResponse("malformed status line");
  let fields: ParsedFields;
  try {
    fields = parseFields(text, lineEnd < 0 ? text.length : lineEnd + 2, limits.maxHeaders, false);
  } catch (error) {
    throw badResponse(error instanceof HttpParseError ? error.message : "malformed response head");
  }
  const head: ResponseHead = {
    status,
    reason,
    minor,
    headers: fields.headers,
    bodyKind: BODY_NONE,
    contentLength: 0,
    keepAlive: keepAlive(minor, fields.connection),
    upgrade: status === 101,
    size: end + 4 - offset,
  };
  if (method === "HEAD" || status < 200 || status === 204 || status === 304) return head;
  if (fields.transferEncoding !== undefined) {
    if (fields.contentLength !== undefined)
      throw badResponse("both Content-Length and Transfer-Encoding are present");
    // Other codings (gzip, ...) would reach the client as content once the hop-by-hop
    // Transfer-Encoding is dropped: refused, as NGINX refuses them, not passed on corrupted.
    if (!isChunkedOnly(fields.transferEncoding)) throw badResponse("unsupported transfer coding");
    head.bodyKind = BODY_CHUNKED;
  } else if (fields.contentLength !== undefined) {
    try {
      head.contentLength = contentLength(fields.contentLength, fields.contentLengthCount);
    } catch (error) {
      throw badResponse(error instanceof HttpParseError ? error.message : "malformed Content-Length");
    }
    head.bodyKind = head.contentLength > 0 ? BODY_LENGTH : BODY_NONE;
  } else {
    head.bodyKind = BODY_UNTIL_CLOSE;
  }
  if (head.bodyKind === BODY_UNTIL_CLOSE) head.keepAlive = false;
  return head;
}

interface ParsedFields {
  headers: string[];
  connection: string | undefined;
  contentLength: string | undefined;
  contentLengthCount: number;
  transferEncoding: string | undefined;
  host: string | undefined;
  hostCount: number;
  expect: string | undefined;
  upgrade: boolean;
}

/** Parses the field lines of `text` from `at` to its end (the head without its final CRLF CRLF). */
function parseFields(text: string, at: number, maxHeaders: number, request: boolean): ParsedFields {
  const fields: ParsedFields = {
    headers: [],
    connection: undefined,
    contentLength: undefined,
    contentLengthCount: 0,
    transferEncoding: undefined,
    host: undefined,
    hostCount: 0,
    expect: undefined,
    upgrade: false,
  };
  const headers = fields.headers;
  let pos = at;
  while (pos < text.length) {
    let lineEnd = text.indexOf("\r\n", pos);
    if (lineEnd < 0) lineEnd = text.length;
    const first = text.charCodeAt(pos);
    if (first === 32 || first === 9) throw badRequest("obsolete line folding in a header");
    let colon = pos;
    while (colon < lineEnd && TCHAR[text.charCodeAt(colon)] === 1) colon++;
    if (colon === pos || colon === lineEnd || text.charCodeAt(colon) !== 58 /* : */) {
      throw badRequest("malformed header line");
    }
    let valueStart = colon + 1;
    let valueEnd = lineEnd;
    while (valueStart < valueEnd && isBlank(text.charCodeAt(valueStart))) valueStart++;
    while (valueEnd > valueStart && isBlank(text.charCodeAt(valueEnd - 1))) valueEnd--;
    for (let i = valueStart; i < valueEnd; i++) {
      const c = text.charCodeAt(i);
      if ((c < 32 && c !== 9) || c === 127) throw badRequest("invalid character in a header value");
    }
    if (headers.length >= maxHeaders * 2) {
      throw new HttpParseError(ErrorCodes.HEADERS_TOO_LARGE, "too many header fields");
    }
    const name = text.slice(pos, colon);
    const value = text.slice(valueStart, valueEnd);
    headers.push(name, value);
    // Trailing blanks are rare; llhttp takes an HTAB among them as part of a
    // framing value (`chunked\t` is not chunked to node), so it is kept in view.
    noteField(fields, name, value, request, valueEnd < lineEnd && hasTab(text, valueEnd, lineEnd));
    pos = lineEnd + 2;
  }
  return fields;
}

/**
 * Records the fields that decide framing and routing (names compared
 * case-insensitively). An HTAB in Connection, or trailing a Content-Length
 * or Transfer-Encoding value, is refused: llhttp reads such a value as a
 * token other than the one it looks like, so a backend and we would frame
 * or keep alive differently.
 */
function noteField(
  fields: ParsedFields,
  name: string,
  value: string,
  request: boolean,
  tabbed: boolean,
): void {
  switch (name.length) {
    case 4:
      if (request && isNamed(name, "host")) {
        fields.host = value;
        fields.hostCount++;
      }
      return;
    case 6:
      if (request && isNamed(name, "expect")) fields.expect = value;
      return;
    case 7:
      // An empty Upgrade is no upgrade to llhttp. Nor is h2c to us: tunnelled, it would carry
      // HTTP/2 past the proxy's routes and limits ("h2c smuggling"); RFC 9113 dropped it, and a
      // server that does not upgrade answers the request as it is (Upgrade is hop-by-hop).
      if (value !== "" && isNamed(name, "upgrade") && !isNamed(value, "h2c")) fields.upgrade = true;
      return;
    case 10:
      if (isNamed(name, "connection")) {
        if (tabbed || value.includes("\t")) throw badRequest("HTAB in a Connection header");
        fields.connection = join(fields.connection, value);
      }
      return;
    case 16:
      // llhttp reads Proxy-Connection as Connection (close, keep-alive, upgrade).
      if (isNamed(name, "proxy-connection")) {
        if (tabbed || value.includes("\t")) throw badRequest("HTAB in a Connection header");
        fields.connection = join(fields.connection, value);
      }
      return;
    case 14:
      if (isNamed(name, "content-length")) {
        if (tabbed) throw badRequest("malformed Content-Length");
        fields.contentLength = value;
        fields.contentLengthCount++;
      }
      return;
    case 17:
      if (isNamed(name, "transfer-encoding")) {
        if (tabbed) throw badRequest("HTAB after a transfer coding");
        fields.transferEncoding = join(fields.transferEncoding, value);
      }
      return;
  }
}

/**
 * The index of the CR of the CRLF CRLF ending the head that starts at
 * `start`, or -1 when it has not arrived. Throws when what has arrived is
 * already over a limit or holds a bare LF (which would never end the head).
 */
function findHeadEnd(
  buf: Buffer,
  start: number,
  maxHeadBytes: number,
  maxTargetBytes: number,
  scanned = start,
): number {
  // The bytes before `scanned` held no head end and had their line ends checked, but for a CR
  // that was last (its LF may have come since) and a head end that spans the boundary.
  const end = buf.indexOf(HEAD_END, Math.max(start, scanned - 3));
  if (end >= 0) {
    // A complete head needs no line-end check of its own: split at CRLF, a stray CR or LF is
    // left inside a start or field line, whose checks refuse control characters.
    if (end + 4 - start > maxHeadBytes) throw headTooLarge();
    return end;
  }
  checkLineEnds(buf, start, Math.max(start, scanned - 1), buf.length);
  // Method, spaces and version around the target: 32 bytes is generous. Checked once, when the
  // buffer first grows past that: a request line must have ended by then.
  const lineLimit = maxTargetBytes + 32;
  if (scanned - start <= lineLimit && buf.length - start > lineLimit && buf.indexOf(LF, start) < 0) {
    throw new HttpParseError(ErrorCodes.URI_TOO_LONG, "the request target is too long");
  }
  if (buf.length - start > maxHeadBytes) throw headTooLarge();
  return -1;
}

/** Every LF in [from, to) of a head starting at `start` must follow a CR; every CR must precede an LF. */
function checkLineEnds(buf: Buffer, start: number, from: number, to: number): void {
  for (let i = buf.indexOf(LF, from); i >= 0 && i < to; i = buf.indexOf(LF, i + 1)) {
    if (i === start || buf[i - 1] !== CR) throw badRequest("bare LF in the message head");
  }
  for (let i = buf.indexOf(CR, from); i >= 0 && i < to; i = buf.indexOf(CR, i + 1)) {
    if (i + 1 < buf.length && buf[i + 1] !== LF) throw badRequest("bare CR in the message head");
  }
}

/**
 * `HTTP/1.1` at `at` of `line` → 1, `HTTP/1.0` → 0, anything else → -1.
 * Compared a character at a time: `startsWith` on a line sliced from the
 * head costs more than the rest of the start line's checks.
 */
function versionMinor(line: string, at: number): number {
  if (line.length < at + 8) return -1;
  for (let i = 0; i < 7; i++) if (line.charCodeAt(at + i) !== HTTP_1.charCodeAt(i)) return -1;
  const c = line.charCodeAt(at + 7);
  return c === 49 ? 1 : c === 48 ? 0 : -1;
}

function threeDigits(line: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 3; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/** Reduces an absolute-form target to origin form, checking its authority against Host. */
function normalizeTarget(head: RequestHead, target: string): void {
  if (target.charCodeAt(0) === 47 /* / */) return;
  if (target === "*") {
    if (head.method !== "OPTIONS") throw badRequest("asterisk-form target with a method other than OPTIONS");
    return;
  }
  const reduced = reduceAbsoluteForm(target, head.host);
  head.host = reduced.authority;
  head.target = reduced.path;
}

/**
 * Splits an absolute-form target (`http://host:port/path?query`) into its
 * authority and its origin-form path. Throws 400 when it is not an http(s)
 * URI, has userinfo, or names an authority other than the Host header: a
 * backend that routes on one and a proxy that routes on the other must never
 * disagree (RFC 9112 §3.2.2 has the target win; we refuse the ambiguity).
 */
function reduceAbsoluteForm(target: string, host: string | undefined): { authority: string; path: string } {
  const scheme = target.slice(0, 8).toLowerCase();
  const skip = scheme.startsWith("http://") ? 7 : scheme === "https://" ? 8 : -1;
  if (skip < 0) throw badRequest("malformed request target");
  let pathStart = target.length;
  for (let i = skip; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c === 47 || c === 63 || c === 35) {
      pathStart = i;
      break;
    }
  }
  const authority = target.slice(skip, pathStart);
  // The authority gets the Host checks (llhttp refuses `{`, `"`, ... there
  // too); a fragment right after it is refused as llhttp does. Rare: no hot path.
  if (authority === "" || authority.includes("@") || !HOST_VALUE.test(authority)) {
    throw badRequest("malformed request target authority");
  }
  if (target.charCodeAt(pathStart) === 35) throw badRequest("malformed request target");
  if (host !== undefined && host.toLowerCase() !== authority.toLowerCase()) {
    throw badRequest("the request target's authority differs from the Host header");
  }
  const rest = target.slice(pathStart);
  return { authority, path: rest === "" ? "/" : rest.charCodeAt(0) === 47 ? rest : `/${rest}` };
}

function contentLength(value: string, count: number): number {
  if (count > 1) throw badRequest("more than one Content-Length header");
  if (value.length === 0 || value.length > 15) throw badRequest("malformed Content-Length");
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw badRequest("malformed Content-Length");
    length = length * 10 + d;
  }
  return length;
}

/**
 * The coding list is exactly `chunked`, in any case (the value is already
 * stripped of blanks; several Transfer-Encoding lines are joined with commas).
 */
function isChunkedOnly(codings: string): boolean {
  return isNamed(codings, "chunked");
}

function keepAlive(minor: number, connection: string | undefined): boolean {
  if (connection === undefined) return minor === 1;
  if (hasOption(connection, "close")) return false;
  return minor === 1 || hasOption(connection, "keep-alive");
}

/** Whether the comma-separated `list` holds `option` (lower case), ignoring case and blanks. */
export function hasOption(list: string | undefined, option: string): boolean {
  if (list === undefined) return false;
  // Compared in place (no lower-case copy); a single option, the usual `keep-alive` of every
  // response, needs no split: no array per message.
  if (!list.includes(",")) return isNamed(trimBlanks(list), option);
  for (const part of list.split(",")) if (isNamed(trimBlanks(part), option)) return true;
  return false;
}

/**
 * `value` without leading and trailing SP and HTAB. Not String#trim, which
 * also strips VT, FF and NBSP (0xA0): `chunked\xA0` is not `chunked` to llhttp.
 */
function trimBlanks(value: string): string {
  let from = 0;
  let to = value.length;
  while (from < to && isBlank(value.charCodeAt(from))) from++;
  while (to > from && isBlank(value.charCodeAt(to - 1))) to--;
  return from === 0 && to === value.length ? value : value.slice(from, to);
}

function hasTab(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === 9) return true;
  return false;
}

function join(list: string | undefined, value: string): string {
  return list === undefined ? value : `${list}, ${value}`;
}

/** Visible ASCII only: no blanks, controls or bytes above 0x7E. */
function isVisible(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c <= 32 || c >= 127) return false;
  }
  return true;
}

function isFieldValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return false;
  }
  return true;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9;
}

function badRequest(message: string): HttpParseError {
  return new HttpParseError(ErrorCodes.BAD_REQUEST, message);
}

function badResponse(message: string): HttpParseError {
  return new HttpParseError(ErrorCodes.UPSTREAM_PROTOCOL, `invalid response from the backend: ${message}`);
}

function headTooLarge(): HttpParseError {
  return new HttpParseError(ErrorCodes.HEADERS_TOO_LARGE);
}
