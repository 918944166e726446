/**
 * The balancer's view of a request sent through the client: method, path,
 * lower-cased headers (undici takes them as an object, a flat list or an
 * iterable of pairs), cookies, and the caller's affinity key.
 */
import type { Dispatcher } from "undici";
import { parseCookies, type RequestContext } from "../core/context.js";

type Headers = Record<string, string | string[] | undefined>;

export function requestContext(
  opts: Dispatcher.DispatchOptions,
  sessionId: string | undefined,
): RequestContext {
  const headers = headerRecord(opts.headers);
  const cookie = headers.cookie;
  const ctx: RequestContext = { method: opts.method, path: opts.path, headers };
  if (typeof cookie === "string") ctx.cookies = parseCookies(cookie);
  if (sessionId !== undefined) ctx.sessionId = sessionId;
  return ctx;
}

function headerRecord(headers: Dispatcher.DispatchOptions["headers"]): Headers {
  const record: Headers = {};
  if (headers == null) return record;
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) add(record, String(headers[i]), headers[i + 1]);
  } else if (Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>)
      add(record, name, value);
  } else {
    for (const [name, value] of Object.entries(headers)) add(record, name, value);
  }
  return record;
}

function add(record: Headers, name: string, value: unknown): void {
  if (value === undefined) return;
  const key = name.toLowerCase();
  const text = Array.isArray(value) ? value.map(String) : String(value);
  const held = record[key];
  if (held === undefined) record[key] = text;
  else record[key] = [...(Array.isArray(held) ? held : [held]), ...(Array.isArray(text) ? text : [text])];
}
