/**
 * Header names compared in any ASCII case without lower-casing them: a
 * lower-case copy of a name that has capitals (`Host`, `Content-Length`)
 * is a call into the runtime and a new string, and a Map lookup with it
 * hashes that string; done for every field of every message, that was a
 * tenth of the proxy's own instructions per request.
 */

/** True when `name` is `lower` (a lower-case name) in any ASCII case. */
export function isNamed(name: string, lower: string): boolean {
  return name.length === lower.length && startsNamed(name, lower);
}

/** True when `name` begins with `lower` (lower case) in any ASCII case. */
export function startsNamed(name: string, lower: string): boolean {
  if (name.length < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
