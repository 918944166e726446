/**
 * Streaming, strict decoder of the chunked transfer coding (RFC 9112 §7.1).
 * Bytes go in as they arrive, in any split; chunk data comes out as views of
 * the input (no copy) through the sink, and the trailer fields are collected
 * as a flat `[name, value, ...]` list. Anything a lenient parser might read
 * two ways is refused: a size that is not plain hex, blanks after the size, a
 * line end other than CRLF, data not followed by CRLF, a chunk extension
 * outside `*( ";" token [ "=" ( token / quoted-string ) ] )` (no blanks, as
 * llhttp), malformed trailer lines. Extensions are checked and dropped (the
 * proxy re-encodes chunks without them).
 */
import { ErrorCodes } from "../core/errors.js";
import { isToken, TCHAR } from "./http-token.js";
import { HttpParseError } from "./parse-error.js";

export interface ChunkSink {
  /** A run of body bytes (a view of the input, valid only during the call). */
  onBodyData(data: Buffer): void;
}

const SIZE = 0;
const EXTENSION = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER = 6;
const DONE = 7;

/** Where a chunk extension is: just after `;`, in its name, after `=`, in a token or quoted value. */
const EXT_NAME_START = 0;
const EXT_NAME = 1;
const EXT_VALUE_START = 2;
const EXT_TOKEN = 3;
const EXT_QUOTED = 4;
const EXT_QUOTED_PAIR = 5;
const EXT_QUOTED_END = 6;

const FORBIDDEN_TRAILERS = new Set(["content-length", "transfer-encoding", "connection", "proxy-connection"]);

const CR = 13;
const LF = 10;
/** 13 hex digits keep a chunk size under 2^52, an exact double. */
const MAX_SIZE_DIGITS = 13;

export interface ChunkLimits {
  /** Bytes of chunk extensions allowed on one size line; more is 413 (node's limit is 16 KiB in all). */
  maxExtensionBytes: number;
  /** Bytes of the trailer section; more is 431. */
  maxTrailerBytes: number;
  /** Code for malformed input: BAD_REQUEST (400) for client bodies, UPSTREAM_PROTOCOL (502) for backend bodies. */
  errorCode: typeof ErrorCodes.BAD_REQUEST | typeof ErrorCodes.UPSTREAM_PROTOCOL;
}

export const CLIENT_CHUNK_LIMITS: Readonly<ChunkLimits> = Object.freeze({
  maxExtensionBytes: 4_096,
  maxTrailerBytes: 16_384,
  errorCode: ErrorCodes.BAD_REQUEST,
});

export const BACKEND_CHUNK_LIMITS: Readonly<ChunkLimits> = Object.freeze({
  maxExtensionBytes: 16_384,
  maxTrailerBytes: 65_536,
  errorCode: ErrorCodes.UPSTREAM_PROTOCOL,
});

export class ChunkedDecoder {
  readonly #limits: Readonly<ChunkLimits>;
  #state = SIZE;
  /** Digits of the size line so far, and those after its leading zeros. */
  #digits = 0;
  #significantDigits = 0;
  #remaining = 0;
  #extensionBytes = 0;
  #extension = EXT_NAME_START;
  /** Raw trailer section bytes (latin1) gathered until the empty line. */
  #trailerText = "";
  /** Trailer fields, once the message is done. */
  trailers: string[] | undefined = undefined;

  constructor(limits: Readonly<ChunkLimits>) {
    this.#limits = limits;
  }

  /** Whether the last chunk and the trailer section have been read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /**
   * Decodes `buf` from `start`; returns the index just past the end of the
   * chunked body when it ends within `buf` (the rest belongs to the next
   * message), or `buf.length` when more is needed.
   */
  decode(buf: Buffer, start: number, sink: ChunkSink): number {
    let i = start;
    const length = buf.length;
    while (i < length) {
      switch (this.#state) {
        case SIZE: {
          const c = buf[i] as number;
          const digit = hexValue(c);
          if (digit >= 0) {
            this.#digits++;
            // Leading zeros are valid (node takes them); only the line's byte budget bounds them.
            if (this.#remaining > 0 || digit > 0) {
              if (++this.#significantDigits > MAX_SIZE_DIGITS) throw this.#error("chunk size too large");
            } else if (this.#digits > this.#limits.maxExtensionBytes) {
              throw this.#error("chunk size line too long");
            }
            this.#remaining = this.#remaining * 16 + digit;
            i++;
          } else if (this.#digits === 0) {
            throw this.#error("malformed chunk size");
          } else if (c === 59 /* ; */) {
            this.#state = EXTENSION;
            this.#extension = EXT_NAME_START;
            this.#extensionBytes = 0;
            i++;
          } else if (c === CR) {
            this.#state = SIZE_LF;
            i++;
          } else {
            throw this.#error("malformed chunk size");
          }
          break;
        }
        case EXTENSION: {
          if (this.#extensionByte(buf[i] as number)) this.#state = SIZE_LF;
          else if (++this.#extensionBytes > this.#limits.maxExtensionBytes) {
            throw new HttpParseError(ErrorCodes.PAYLOAD_TOO_LARGE, "chunk extensions are too large");
          }
          i++;
          break;
        }
        case SIZE_LF:
          if (buf[i] !== LF) throw this.#error("chunk size line not ended by CRLF");
          i++;
          this.#digits = 0;
          this.#significantDigits = 0;
          this.#state = this.#remaining === 0 ? TRAILER : DATA;
          break;
        case DATA: {
          const take = Math.min(this.#remaining, length - i);
          sink.onBodyData(buf.subarray(i, i + take));
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (buf[i] !== CR) throw this.#error("chunk data not followed by CRLF");
          i++;
          this.#state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[i] !== LF) throw this.#error("chunk data not followed by CRLF");
          i++;
          this.#state = SIZE;
          break;
        case TRAILER:
          i = this.#readTrailer(buf, i);
          if (this.done) return i;
          break;
        default:
          return i;
      }
    }
    return this.#state === DONE ? i : length;
  }

  /**
   * Steps the chunk-extension grammar over `c`; true when `c` is the CR that
   * ends the size line. Throws on anything llhttp would not read the same way.
   */
  #extensionByte(c: number): boolean {
    switch (this.#extension) {
      case EXT_NAME_START:
        if (TCHAR[c] !== 1) break;
        this.#extension = EXT_NAME;
        return false;
      case EXT_NAME:
      case EXT_TOKEN:
        if (TCHAR[c] === 1) return false;
        if (c === CR) return true;
        if (c === 59 /* ; */) this.#extension = EXT_NAME_START;
        else if (c === 61 /* = */ && this.#extension === EXT_NAME) this.#extension = EXT_VALUE_START;
        else break;
        return false;
      case EXT_VALUE_START:
        if (TCHAR[c] === 1) this.#extension = EXT_TOKEN;
        else if (c === 34 /* " */) this.#extension = EXT_QUOTED;
        else break;
        return false;
      case EXT_QUOTED:
        // qdtext: HTAB, SP, VCHAR but `"` and `\`, obs-text.
        if (c === 34) this.#extension = EXT_QUOTED_END;
        else if (c === 92 /* \ */) this.#extension = EXT_QUOTED_PAIR;
        else if ((c < 32 && c !== 9) || c === 127) break;
        return false;
      case EXT_QUOTED_PAIR:
        if ((c < 32 && c !== 9) || c === 127) break;
        this.#extension = EXT_QUOTED;
        return false;
      default:
        if (c === CR) return true;
        if (c !== 59) break;
        this.#extension = EXT_NAME_START;
        return false;
    }
    throw this.#error("malformed chunk extension");
  }

  /** Gathers trailer bytes up to the empty line, then parses them. */
  #readTrailer(buf: Buffer, from: number): number {
    const lf = buf.indexOf(LF, from);
    const to = lf < 0 ? buf.length : lf + 1;
    this.#trailerText += buf.toString("latin1", from, to);
    if (this.#trailerText.length > this.#limits.maxTrailerBytes) {
      throw new HttpParseError(ErrorCodes.HEADERS_TOO_LARGE, "the trailer section is too large");
    }
    if (lf < 0) return to;
    const text = this.#trailerText;
    if (text.length < 2 || text.charCodeAt(text.length - 2) !== CR) {
      throw this.#error("trailer line not ended by CRLF");
    }
    if (text.length === 2 || text.endsWith("\r\n\r\n")) {
      this.trailers = this.#parseTrailers(text.slice(0, text.length - 2));
      this.#state = DONE;
    }
    return to;
  }

  #parseTrailers(text: string): string[] {
    const fields: string[] = [];
    let pos = 0;
    while (pos < text.length) {
      const end = text.indexOf("\r\n", pos);
      const line = text.slice(pos, end);
      const colon = line.indexOf(":");
      if (colon <= 0 || !isToken(line.slice(0, colon))) {
        throw this.#error("malformed trailer line");
      }
      // Controls are refused before the blanks are stripped, and only SP and
      // HTAB are: String#trim would also strip VT and FF, which llhttp refuses.
      const raw = line.slice(colon + 1);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes are what is refused
      if (/[\x00-\x08\x0a-\x1f\x7f]/.test(raw)) throw this.#error("invalid character in a trailer");
      // Framing and connection fields have no place in trailers (RFC 9110 §6.5.1);
      // llhttp refuses the first two and closes on the others.
      const name = line.slice(0, colon);
      if (FORBIDDEN_TRAILERS.has(name.toLowerCase())) throw this.#error(`${name} in a trailer`);
      fields.push(name, raw.replace(/^[ \t]+|[ \t]+$/g, ""));
      pos = end + 2;
    }
    return fields;
  }

  #error(message: string): HttpParseError {
    const code = this.#limits.errorCode;
    return new HttpParseError(
      code,
      code === ErrorCodes.UPSTREAM_PROTOCOL ? `invalid response from the backend: ${message}` : message,
    );
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
