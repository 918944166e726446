/**
 * What a selector may know about a request. The proxy fills it from the wire;
 * library users fill what they have. Every field is optional so algorithms
 * degrade gracefully (a hash algorithm without its key falls back to its rule).
 */
export interface RequestContext {
  clientIp?: string;
  method?: string;
  path?: string;
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  cookies?: Readonly<Record<string, string>>;
  /** Session identifier for affinity (DWCP's `SelectServer(clientIP, sessionID)`). */
  sessionId?: string;
  /** The listener route the request took, when it came through one (for explain). */
  route?: string;
}

/** Parses a `Cookie` header into name → value (first occurrence wins). */
export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  if (!header) return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (name && !(name in cookies)) cookies[name] = part.slice(eq + 1).trim();
  }
  return cookies;
}
