/**
 * Errors the proxy answers itself, as a gRPC client sees them: with
 * @grpc/grpc-js through the proxy, every backend down or none ready is
 * UNAVAILABLE, a rate-limited route RESOURCE_EXHAUSTED, no route
 * UNIMPLEMENTED and a backend too slow DEADLINE_EXCEEDED, each with our code
 * and message in `grpc-message`. On the wire (node:http2 and node:http
 * clients) the answer is a Trailers-Only head with status 200, for HTTP/2
 * and HTTP/1.1 gRPC requests alike, while other requests keep their JSON
 * error. A redirect (a route's, a plain listener's redirectToHttps) fails a
 * gRPC call with SY_ERR_REDIRECTED and the Location, since gRPC clients do
 * not follow redirects, while others, gRPC-Web included, get the redirect.
 * The same answers come over TLS (ALPN h2). A request head over the
 * listener's HTTP/2 limits is reset by node:http2 with ENHANCE_YOUR_CALM,
 * which a gRPC client reads as RESOURCE_EXHAUSTED; one within them but past
 * the listener's field count gets our 431, RESOURCE_EXHAUSTED too. A gRPC response that
 * fails after its head (an h2 backend resetting or stalling mid-stream) ends
 * with a failed status in its trailers.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { TlsCertificates } from "../src/proxy/tls-certificates.js";
import { makeSelfSigned } from "./helpers/certificates.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import {
  type EchoClient,
  echoClient,
  h2Pool,
  type Note,
  noteFrame,
  rawSay,
  say,
  sayFailure,
  startGrpcProxy,
  startGrpcServer,
} from "./helpers/grpc.js";
import { closedPort, LOCALHOST, request } from "./helpers/servers.js";

const dir = useTempDirNow("switchyard-grpc-errors-");
const site = makeSelfSigned(dir, "site", "localhost", ["localhost"]);
const cleanups = useCleanups();

/**
 * An h2c backend that answers every call with a gRPC head and one message
 * ("first"), then hands the stream to `then`; gives its address.
 */
async function startHalfwayBackend(then: (stream: http2.ServerHttp2Stream) => void): Promise<string> {
  const server = http2.createServer();
  server.on("session", (session) => cleanups.push(async () => session.destroy()));
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    stream.write(noteFrame("first"));
    then(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return `http://${LOCALHOST}:${(server.address() as AddressInfo).port}`;
}

/** A server-streaming Repeat call: the notes it got and the status it ended with. */
function repeat(echo: EchoClient): Promise<{ notes: Note[]; status: grpc.StatusObject }> {
  const notes: Note[] = [];
  const call = echo.Repeat({ text: "tick", count: 3 });
  call.on("data", (note: Note) => notes.push(note));
  call.on("error", () => {});
  return new Promise((resolve) => call.on("status", (status) => resolve({ notes, status })));
}

/** An h2c proxy with `options`, closed after the test. */
function startProxy(options: HttpProxyOptions) {
  return startGrpcProxy(options, cleanups);
}

describe("proxy errors to gRPC clients", () => {
  it("answers UNAVAILABLE with our code and message when every backend is down or none is ready", async () => {
    const down = await startProxy({ balancer: h2Pool([`http://${LOCALHOST}:${await closedPort()}`]) });
    const failed = await sayFailure(echoClient(down.port, cleanups), "hello");
    expect(failed.code).toBe(grpc.status.UNAVAILABLE);
    expect(failed.details).toBe("SY_ERR_UPSTREAM_CONNECT: could not connect to a backend");
    expect(failed.metadata.get("x-switchyard-error")).toEqual(["SY_ERR_UPSTREAM_CONNECT"]);

    const a = await startGrpcServer("a", cleanups);
    const disabled = h2Pool([], { backends: [{ address: a.address, enabled: false }] });
    const none = await startProxy({ balancer: disabled });
    const refused = await sayFailure(echoClient(none.port, cleanups), "hello");
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    expect(refused.details).toBe("SY_ERR_NO_BACKEND: no ready backend");
  });

  it("answers RESOURCE_EXHAUSTED past a route's rate limit, with Retry-After", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { proxy, port } = await startProxy({
      routes: [{ name: "echo", balancer: h2Pool([a.address]), rateLimit: { rate: 1, periodMs: 60_000 } }],
    });
    const echo = echoClient(port, cleanups);
    expect(await say(echo, "first")).toMatchObject({ server: "a" });
    const limited = await sayFailure(echo, "second");
    expect(limited.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(limited.details).toBe("SY_ERR_RATE_LIMITED: too many requests; retry after the Retry-After delay");
    expect(Number(limited.metadata.get("retry-after")[0])).toBeGreaterThanOrEqual(1);
    expect(proxy.stats().routes[0]).toMatchObject({ requests: 2, rateLimited: 1 });
  });

  it("answers UNIMPLEMENTED when no route takes the call", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { proxy, port } = await startProxy({
      routes: [{ name: "other", match: { pathPrefix: "/other.Service/" }, balancer: h2Pool([a.address]) }],
    });
    const failed = await sayFailure(echoClient(port, cleanups), "hello");
    expect(failed.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(failed.details).toBe("SY_ERR_NO_ROUTE: no route of this listener matches the request");
    // Counted as what went on the wire (200), and by its code.
    expect(proxy.stats()).toMatchObject({ errors: { SY_ERR_NO_ROUTE: 1 }, statusClasses: { "2xx": 1 } });
  });

  it("answers DEADLINE_EXCEEDED when the backend does not answer in time", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { port } = await startProxy({ balancer: h2Pool([a.address]), timeouts: { headersMs: 200 } });
    const echo = echoClient(port, cleanups);
    const failed = await sayFailure(echo, "slow");
    expect(failed.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(failed.details).toBe("SY_ERR_UPSTREAM_TIMEOUT: the backend did not answer in time");
    expect(await say(echo, "quick")).toMatchObject({ server: "a" });
  });

  it("sends a Trailers-Only head with status 200 to HTTP/2 and HTTP/1.1 gRPC requests, JSON to others", async () => {
    const { proxy, port } = await startProxy({
      balancer: h2Pool([], { backends: [{ address: `http://${LOCALHOST}:1`, enabled: false }] }),
    });
    const h2 = await rawSay(port, cleanups, { "content-type": "application/grpc+proto" });
    expect(h2.endedWithHead).toBe(true);
    expect(h2.trailers).toBeUndefined();
    expect(h2.headers).toMatchObject({
      ":status": 200,
      "content-type": "application/grpc+proto",
      "grpc-status": "14",
      "grpc-message": "SY_ERR_NO_BACKEND: no ready backend",
      "x-switchyard-error": "SY_ERR_NO_BACKEND",
    });

    const h1 = await request({
      port,
      method: "POST",
      path: "/switchyard.test.Echo/Say",
      headers: { "content-type": "application/grpc-web+proto" },
      body: noteFrame("hello"),
    });
    expect(h1.status).toBe(200);
    expect(h1.headers).toMatchObject({
      "content-length": "0",
      "content-type": "application/grpc-web+proto",
      "grpc-status": "14",
    });

    const json = await rawSay(port, cleanups, { "content-type": "application/json" });
    expect(json.status).toBe(503);
    expect(JSON.parse(json.body.toString())).toMatchObject({ error: "SY_ERR_NO_BACKEND" });
    expect(proxy.stats()).toMatchObject({
      errors: { SY_ERR_NO_BACKEND: 3 },
      statusClasses: { "2xx": 2, "5xx": 1 },
    });
  });

  it("fails a gRPC call to a redirect with SY_ERR_REDIRECTED and the Location; others get the redirect", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { proxy, port } = await startProxy({
      routes: [
        {
          name: "moved",
          match: { path: "/switchyard.test.Echo/Say" },
          redirect: { path: "/new", status: 301 },
        },
        { name: "echo", balancer: h2Pool([a.address]) },
      ],
    });
    const failed = await sayFailure(echoClient(port, cleanups), "hello");
    expect(failed.code).toBe(grpc.status.UNKNOWN);
    expect(failed.details).toBe(
      `SY_ERR_REDIRECTED: redirected to http://${LOCALHOST}:${port}/new; gRPC clients do not follow redirects`,
    );
    expect(failed.metadata.get("location")).toEqual([`http://${LOCALHOST}:${port}/new`]);
    expect(proxy.stats()).toMatchObject({ errors: { SY_ERR_REDIRECTED: 1 }, statusClasses: { "2xx": 1 } });

    // gRPC-Web (browsers follow redirects) and plain requests get the redirect itself.
    for (const type of ["application/grpc-web+proto", "application/json"]) {
      const redirect = await rawSay(port, cleanups, { "content-type": type });
      expect(redirect.status).toBe(301);
      expect(redirect.headers.location).toBe(`http://${LOCALHOST}:${port}/new`);
    }

    const plain = await startProxy({ balancer: h2Pool([a.address]), redirectToHttps: { port: 8443 } });
    const toHttps = await sayFailure(echoClient(plain.port, cleanups), "hello");
    expect(toHttps.code).toBe(grpc.status.UNKNOWN);
    expect(toHttps.metadata.get("x-switchyard-error")).toEqual(["SY_ERR_REDIRECTED"]);
    expect(toHttps.metadata.get("location")).toEqual([`https://${LOCALHOST}:8443/switchyard.test.Echo/Say`]);
  });

  it("answers plain HTTP/2 requests refused by a rate limit or finding no route with the JSON error", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { port } = await startProxy({
      routes: [
        {
          name: "echo",
          match: { path: "/switchyard.test.Echo/Say" },
          balancer: h2Pool([a.address]),
          rateLimit: { rate: 1, periodMs: 60_000 },
        },
      ],
    });
    expect(await say(echoClient(port, cleanups), "first")).toMatchObject({ server: "a" });
    const json = { "content-type": "application/json" };
    const limited = await rawSay(port, cleanups, json);
    expect(limited.status).toBe(429);
    expect(limited.headers["grpc-status"]).toBeUndefined();
    expect(JSON.parse(limited.body.toString())).toMatchObject({ error: "SY_ERR_RATE_LIMITED" });
    const lost = await rawSay(port, cleanups, { ...json, ":path": "/elsewhere" });
    expect(lost.status).toBe(404);
    expect(JSON.parse(lost.body.toString())).toMatchObject({ error: "SY_ERR_NO_ROUTE" });
  });

  it("answers gRPC calls over TLS (ALPN h2) the same way: rate limit, redirect, no route", async () => {
    const a = await startGrpcServer("a", cleanups);
    const proxy = new HttpProxy({
      tls: { certificates: await TlsCertificates.load([site]) },
      routes: [
        {
          name: "echo",
          match: { path: "/switchyard.test.Echo/Say" },
          balancer: h2Pool([a.address]),
          rateLimit: { rate: 1, periodMs: 60_000 },
        },
        { name: "moved", match: { path: "/switchyard.test.Echo/Repeat" }, redirect: { host: "grpc.test" } },
      ],
    });
    const { port } = await proxy.listen();
    cleanups.push(() => proxy.close(200));
    const echo = echoClient(port, cleanups, site.cert);
    expect(await say(echo, "first")).toMatchObject({ server: "a" });
    const limited = await sayFailure(echo, "second");
    expect(limited.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(limited.details).toBe("SY_ERR_RATE_LIMITED: too many requests; retry after the Retry-After delay");

    const { status } = await repeat(echo);
    expect(status.code).toBe(grpc.status.UNKNOWN);
    expect(status.details).toMatch(/^SY_ERR_REDIRECTED: redirected to https:\/\/grpc\.test\/switchyard/);

    const lost = await new Promise<grpc.ServiceError | null>((resolve) => echo.Gather(resolve).end());
    expect(lost?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(lost?.details).toBe("SY_ERR_NO_ROUTE: no route of this listener matches the request");
  });

  it("resets a gRPC call whose metadata is over the HTTP/2 header limits, read as RESOURCE_EXHAUSTED", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { port } = await startProxy({ balancer: h2Pool([a.address]) });
    const echo = echoClient(port, cleanups);
    // One field past maxHeaderListSize (the listener's 16 KiB head), and too many fields.
    const big = new grpc.Metadata();
    big.set("x-big", "a".repeat(20_000));
    const many = new grpc.Metadata();
    for (let i = 0; i < 200; i++) many.set(`x-field-${i}`, "v");
    for (const metadata of [big, many]) {
      const failed = await new Promise<grpc.ServiceError | null>((resolve) =>
        echo.Say({ text: "hello" }, metadata, (error) => resolve(error)),
      );
      expect(failed?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    }
    // Within node's limits but past the listener's 100 fields: our own answer, with our code.
    const some = new grpc.Metadata();
    for (let i = 0; i < 110; i++) some.set(`x-field-${i}`, "v");
    const refused = await new Promise<grpc.ServiceError | null>((resolve) =>
      echo.Say({ text: "hello" }, some, (error) => resolve(error)),
    );
    expect(refused?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(refused?.details).toBe("SY_ERR_HEADERS_TOO_LARGE: too many header fields");
    expect(await say(echo, "after")).toMatchObject({ server: "a" });
  });

  it("ends a gRPC response whose backend resets after the head with UNAVAILABLE in its trailers", async () => {
    // destroy() resets at once; close() would end the stream cleanly first.
    const backend = await startHalfwayBackend((stream) =>
      setTimeout(() => stream.destroy(new Error("backend failure")), 20),
    );
    const { port } = await startProxy({ balancer: h2Pool([backend]) });
    const { notes, status } = await repeat(echoClient(port, cleanups));
    expect(notes.map((note) => note.text)).toEqual(["first"]);
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    expect(status.details).toMatch(/^SY_ERR_UPSTREAM_RESET: /);

    // Any other response cut midway is still cut: the client's stream is reset.
    const plain = await rawSay(port, cleanups, { "content-type": "application/json" }).catch(
      (error: Error) => error,
    );
    expect(plain).toBeInstanceOf(Error);
    expect(String(plain)).toMatch(/NGHTTP2_INTERNAL_ERROR/);
  });

  it("ends a gRPC response whose backend stalls after the head with DEADLINE_EXCEEDED in its trailers", async () => {
    const backend = await startHalfwayBackend(() => {});
    const { port } = await startProxy({ balancer: h2Pool([backend]), timeouts: { idleMs: 300 } });
    const { notes, status } = await repeat(echoClient(port, cleanups));
    expect(notes).toHaveLength(1);
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(status.details).toBe("SY_ERR_UPSTREAM_TIMEOUT: the backend did not answer in time");
  });
});
