import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  buildResponseHeaders,
  buildUpstreamHeaders,
  forwardedElement,
  forwardedNode,
  isHopByHop,
} from "./forwarded-headers.js";

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
}

function get(flat: readonly string[], name: string): string[] {
  return pairs(flat)
    .filter(([key]) => key.toLowerCase() === name)
    .map(([, value]) => value);
}

describe("buildUpstreamHeaders", () => {
  it("keeps ordinary headers in order with their case and adds forwarding headers", () => {
    const head = buildUpstreamHeaders(
      ["Host", "example.com", "Accept", "*/*", "X-Trace", "1", "X-Trace", "2"],
      "192.0.2.7",
      "http",
    );
    expect(head.host).toBe("example.com");
    expect(head.hasBody).toBe(false);
    expect(head.invalid).toBeUndefined();
    expect(pairs(head.headers)).toEqual([
      ["Host", "example.com"],
      ["Accept", "*/*"],
      ["X-Trace", "1"],
      ["X-Trace", "2"],
      ["x-forwarded-for", "192.0.2.7"],
      ["x-forwarded-proto", "http"],
      ["x-forwarded-host", "example.com"],
      ["forwarded", "for=192.0.2.7;proto=http;host=example.com"],
    ]);
  });

  it("drops hop-by-hop headers and those named by Connection", () => {
    const head = buildUpstreamHeaders(
      [
        "Host",
        "h",
        "Connection",
        "keep-alive, X-Secret, close",
        "connection",
        "x-other",
        "X-Secret",
        "s",
        "X-Other",
        "o",
        "Keep-Alive",
        "timeout=5",
        "Proxy-Authorization",
        "Basic x",
        "Proxy-Connection",
        "keep-alive",
        "TE",
        "trailers",
        "Trailer",
        "x-sum",
        "Upgrade",
        "h2c",
        "Expect",
        "100-continue",
        "Transfer-Encoding",
        "chunked",
        "X-Kept",
        "k",
      ],
      "192.0.2.7",
      "http",
    );
    const names = pairs(head.headers).map(([name]) => name.toLowerCase());
    expect(names).toEqual([
      "host",
      "x-kept",
      "x-forwarded-for",
      "x-forwarded-proto",
      "x-forwarded-host",
      "forwarded",
    ]);
    expect(head.hasBody).toBe(true);
  });

  it("never lets Connection strip Host or Content-Length", () => {
    const head = buildUpstreamHeaders(
      ["Host", "h", "Content-Length", "3", "Connection", "host, content-length"],
      "192.0.2.7",
      "http",
    );
    expect(get(head.headers, "host")).toEqual(["h"]);
    expect(get(head.headers, "content-length")).toEqual(["3"]);
    expect(head.hasBody).toBe(true);
  });

  it("appends to X-Forwarded-For and Forwarded, replaces X-Forwarded-Proto and -Host", () => {
    const head = buildUpstreamHeaders(
      [
        "Host",
        "app.test:8443",
        "X-Forwarded-For",
        "203.0.113.1",
        "X-Forwarded-For",
        "203.0.113.2",
        "Forwarded",
        "for=203.0.113.1",
        "X-Forwarded-Proto",
        "https",
        "X-Forwarded-Host",
        "evil.test",
      ],
      "2001:db8::1",
      "http",
    );
    expect(get(head.headers, "x-forwarded-for")).toEqual(["203.0.113.1, 203.0.113.2, 2001:db8::1"]);
    expect(get(head.headers, "x-forwarded-proto")).toEqual(["http"]);
    expect(get(head.headers, "x-forwarded-host")).toEqual(["app.test:8443"]);
    expect(get(head.headers, "forwarded")).toEqual([
      'for=203.0.113.1, for="[2001:db8::1]";proto=http;host="app.test:8443"',
    ]);
  });

  it("recognises every field it treats specially in any case", () => {
    const head = buildUpstreamHeaders(
      [
        "hOST",
        "app.test",
        "CONTENT-length",
        "5",
        "x-FORWARDED-for",
        "203.0.113.1",
        "FORWARDED",
        "for=203.0.113.1",
        "X-Forwarded-PROTO",
        "https",
        "x-forwarded-HOST",
        "evil.test",
        "eXpect",
        "100-continue",
        "Proxy-CONNECTION",
        "close",
        "kEEP-aLIVE",
        "timeout=5",
        "Te",
        "trailers",
      ],
      "198.51.100.7",
      "http",
    );
    expect(head.host).toBe("app.test");
    expect(head.hasBody).toBe(true);
    expect(pairs(head.headers)).toEqual([
      ["hOST", "app.test"],
      ["CONTENT-length", "5"],
      ["x-forwarded-for", "203.0.113.1, 198.51.100.7"],
      ["x-forwarded-proto", "http"],
      ["x-forwarded-host", "app.test"],
      ["forwarded", "for=203.0.113.1, for=198.51.100.7;proto=http;host=app.test"],
    ]);
  });

  it("reports bodies and duplicate Host headers", () => {
    expect(buildUpstreamHeaders(["Host", "h", "Content-Length", "0"], "1.2.3.4", "http").hasBody).toBe(false);
    expect(buildUpstreamHeaders(["Host", "h", "Content-Length", "12"], "1.2.3.4", "http").hasBody).toBe(true);
    expect(buildUpstreamHeaders(["Host", "a", "host", "b"], "1.2.3.4", "http").invalid).toMatch(/Host/);
  });

  it("handles an unknown client address", () => {
    const head = buildUpstreamHeaders(["X-Forwarded-For", "203.0.113.1"], undefined, "http");
    expect(head.host).toBeUndefined();
    expect(get(head.headers, "x-forwarded-for")).toEqual(["203.0.113.1"]);
    expect(get(head.headers, "x-forwarded-host")).toEqual([]);
    expect(get(head.headers, "forwarded")).toEqual(["for=unknown;proto=http"]);
  });

  it("never forwards a hop-by-hop header (property)", () => {
    const hop = fc.constantFrom(
      "Connection",
      "keep-alive",
      "Proxy-Authorization",
      "proxy-foo",
      "TE",
      "Trailer",
      "Transfer-Encoding",
      "Upgrade",
    );
    const ordinary = fc.stringMatching(/^x-[a-z]{1,8}$/);
    const value = fc.oneof(fc.stringMatching(/^[a-z0-9]{0,8}$/), ordinary, fc.constant("keep-alive, x-a"));
    const header = fc.tuple(fc.oneof(hop, ordinary), value);
    fc.assert(
      fc.property(fc.array(header, { maxLength: 20 }), (list) => {
        const raw = list.flat();
        const out = buildUpstreamHeaders(raw, "10.0.0.1", "http").headers;
        for (const [name] of pairs(out)) expect(isHopByHop(name.toLowerCase())).toBe(false);
        // Ordinary headers not named by a Connection header keep their order.
        const named = new Set(
          list
            .filter(([name]) => name.toLowerCase() === "connection")
            .flatMap(([, value]) => value.split(",").map((token) => token.trim().toLowerCase())),
        );
        const expected = list.filter(([name]) => name.startsWith("x-") && !named.has(name));
        const kept = pairs(out).filter(([name]) => name.startsWith("x-") && !name.startsWith("x-forwarded"));
        expect(kept).toEqual(expected);
      }),
    );
  });
});

describe("buildResponseHeaders", () => {
  it("converts raw buffers, keeps repeated fields and drops hop-by-hop ones", () => {
    const raw = [
      "Set-Cookie",
      "a=1",
      "Connection",
      "keep-alive, X-Hop",
      "X-Hop",
      "1",
      "Set-Cookie",
      "b=2",
      "Keep-Alive",
      "timeout=5",
      "Transfer-Encoding",
      "chunked",
      "Proxy-Authenticate",
      "Basic",
      "Content-Type",
      "text/plain; charset=utf-8",
    ].map((text) => Buffer.from(text, "latin1"));
    expect(buildResponseHeaders(raw)).toEqual([
      "Set-Cookie",
      "a=1",
      "Set-Cookie",
      "b=2",
      "Content-Type",
      "text/plain; charset=utf-8",
    ]);
  });

  it("drops every hop-by-hop field whatever its case, and keeps the others in order (property)", () => {
    const hop = fc.constantFrom(
      "CONNECTION",
      "Keep-Alive",
      "te",
      "TRAILER",
      "transfer-encoding",
      "Upgrade",
      "PROXY-X",
    );
    // Names of a hop-by-hop length, or starting with P, that are not hop-by-hop.
    const ordinary = fc.constantFrom(
      "Content-Type",
      "Date",
      "Pragma",
      "Preference",
      "X-Tracking",
      "Vary",
      "tE-x",
    );
    // Digits only: a Connection value never names one of the ordinary fields.
    const header = fc.tuple(fc.oneof(hop, ordinary), fc.stringMatching(/^[0-9]{0,8}$/));
    fc.assert(
      fc.property(fc.array(header, { maxLength: 20 }), (list) => {
        const out = buildResponseHeaders(list.flat());
        for (const [name] of pairs(out)) expect(isHopByHop(name.toLowerCase())).toBe(false);
        expect(pairs(out)).toEqual(list.filter(([name]) => !isHopByHop(name.toLowerCase())));
      }),
    );
  });

  it("passes latin1 bytes through unchanged", () => {
    const value = Buffer.from([0x63, 0xe9, 0x74, 0xe9]);
    const [, text] = buildResponseHeaders([Buffer.from("X-Name"), value]);
    expect(Buffer.from(text as string, "latin1").equals(value)).toBe(true);
  });
});

describe("Forwarded elements", () => {
  it("formats nodes per RFC 7239", () => {
    expect(forwardedNode("192.0.2.60")).toBe("192.0.2.60");
    expect(forwardedNode("2001:db8:cafe::17")).toBe('"[2001:db8:cafe::17]"');
    expect(forwardedNode(undefined)).toBe("unknown");
    expect(forwardedElement("192.0.2.60", "https", "example.com")).toBe(
      "for=192.0.2.60;proto=https;host=example.com",
    );
    expect(forwardedElement("192.0.2.60", "http", 'we"ird')).toBe(
      'for=192.0.2.60;proto=http;host="we\\"ird"',
    );
    expect(forwardedElement("192.0.2.60", "http", "app.test:8443")).toBe(
      'for=192.0.2.60;proto=http;host="app.test:8443"',
    );
    expect(forwardedElement("192.0.2.60", "http", "back\\slash")).toBe(
      'for=192.0.2.60;proto=http;host="back\\\\slash"',
    );
  });
});

describe("the Forwarded element of consecutive requests", () => {
  it("is each request's own, whether client, scheme or Host repeats or changes (property)", () => {
    const request = fc.record({
      clientIp: fc.option(fc.constantFrom("192.0.2.60", "192.0.2.61", "2001:db8::1"), { nil: undefined }),
      proto: fc.constantFrom("http", "https"),
      host: fc.option(fc.constantFrom("a.test", "b.test:8443"), { nil: undefined }),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 12 }), (requests) => {
        for (const { clientIp, proto, host } of requests) {
          const raw = host === undefined ? [] : ["Host", host];
          const { headers } = buildUpstreamHeaders(raw, clientIp, proto);
          expect(get(headers, "forwarded")).toEqual([forwardedElement(clientIp, proto, host)]);
        }
      }),
    );
  });
});
