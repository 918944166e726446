/**
 * HTTP's token characters (tchar, RFC 9110 §5.6.2): what field names, methods,
 * transfer codings and chunk extension names are made of. One table for the
 * head parser, the chunked decoder and the forwarded-headers pass.
 */

/** 1 for each tchar byte, 0 for every other byte. */
export const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
  TCHAR[c.charCodeAt(0)] = 1;

/** True when `value` is a non-empty run of tchars. */
export function isToken(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 255 || TCHAR[c] !== 1) return false;
  }
  return value.length > 0;
}
