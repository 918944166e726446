/**
 * The HTTP/2 connection preface (RFC 9113 §3.4). A client with prior
 * knowledge (h2c) opens a plain connection with it; no HTTP/1.1 request can
 * start that way, so the first bytes tell the two protocols apart.
 */
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** The bytes differ from the preface. */
export const PREFACE_NONE = 0;
/** The bytes so far are the preface's beginning: wait for more. */
export const PREFACE_PARTIAL = 1;
/** The bytes begin with the whole preface. */
export const PREFACE_FULL = 2;

/** How the start of a connection's bytes compares with the HTTP/2 preface. */
export function prefaceMatch(bytes: Buffer): number {
  // Most connections are HTTP/1.1: the first byte settles it.
  if (bytes[0] !== 0x50 /* P */) return PREFACE_NONE;
  const length = Math.min(bytes.length, PREFACE.length);
  if (bytes.compare(PREFACE, 0, length, 0, length) !== 0) return PREFACE_NONE;
  return length === PREFACE.length ? PREFACE_FULL : PREFACE_PARTIAL;
}
