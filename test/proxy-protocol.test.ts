/**
 * An HTTP listener behind a proxy that speaks the PROXY protocol
 * (`acceptProxyProtocol`): the header is read before HTTP/1.1, h2c or TLS,
 * the client it names is the one the backend is told of and the one rate
 * limits count, and a connection without a valid header is closed before
 * anything reaches a backend. (TCP listeners: test/tcp-proxy.test.ts.)
 */

import { readFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import { createBalancer } from "../src/balancer/balancer.js";
import { parseConfig } from "../src/config/load.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { encodeProxyHeader, type ProxiedConnection } from "../src/proxy/proxy-protocol.js";
import { TlsCertificates } from "../src/proxy/tls-certificates.js";
import { startSwitchyard } from "../src/runtime.js";
import { makeSelfSigned } from "./helpers/certificates.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import { h2request } from "./helpers/http2-client.js";
import {
  type EchoReply,
  LOCALHOST,
  rawRequest,
  startEchoServer,
  type TestServer,
} from "./helpers/servers.js";

const cleanups = useCleanups();
const dir = useTempDirNow("switchyard-proxy-protocol-");
const certificate = makeSelfSigned(dir, "site", "site", ["site.test"]);

const CLIENT: ProxiedConnection = {
  sourceAddress: "203.0.113.9",
  sourcePort: 40_000,
  destinationAddress: "198.51.100.1",
  destinationPort: 443,
};

async function backend(): Promise<TestServer> {
  const server = await startEchoServer("echo");
  cleanups.push(() => server.close());
  return server;
}

async function startProxy(
  echo: TestServer,
  options: Partial<HttpProxyOptions> = {},
): Promise<{ proxy: HttpProxy; port: number }> {
  const balancer = createBalancer({ backends: [{ address: echo.address }] });
  const proxy = new HttpProxy({ balancer, acceptProxyProtocol: true, ...options });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return { proxy, port };
}

/** The JSON bodies of the responses in `raw` (HTTP/1.1 responses one after another). */
function echoes(raw: string): EchoReply[] {
  return [...raw.matchAll(/\r\n\r\n(\{.*?\})(?=HTTP\/1\.1|$)/gs)].map((match) =>
    JSON.parse(match[1] as string),
  );
}

/** A TCP connection that has sent `header`, for a client library to speak over. */
function connectWithHeader(port: number, header: Buffer): net.Socket {
  const socket = net.connect({ host: LOCALHOST, port });
  socket.write(header);
  return socket;
}

const request = (path: string, close = false) =>
  `GET ${path} HTTP/1.1\r\nHost: site.test\r\n${close ? "Connection: close\r\n" : ""}\r\n`;

describe("an HTTP listener behind a PROXY protocol sender", () => {
  it("tells the backend of the client a v1 header names, on every request of the connection", async () => {
    const echo = await backend();
    const { port } = await startProxy(echo);
    const header = encodeProxyHeader("v1", CLIENT).toString("latin1");
    const raw = await rawRequest(port, header + request("/one") + request("/two", true));
    const replies = echoes(raw);
    expect(replies.map((reply) => reply.url)).toEqual(["/one", "/two"]);
    for (const reply of replies) {
      expect(reply.headers["x-forwarded-for"]).toBe("203.0.113.9");
      expect(reply.headers.forwarded).toBe("for=203.0.113.9;proto=http;host=site.test");
    }
  });

  it("takes a v2 header in pieces, an IPv6 client, and LOCAL (the sender's own connection)", async () => {
    const echo = await backend();
    const { port } = await startProxy(echo);
    const header = encodeProxyHeader("v2", {
      ...CLIENT,
      sourceAddress: "2001:db8::7",
      destinationAddress: "2001:db8::1",
    });
    const socket = net.connect({ host: LOCALHOST, port });
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    const closed = new Promise((resolve) => socket.on("close", resolve));
    for (const piece of [
      header.subarray(0, 7),
      header.subarray(7, 30),
      Buffer.concat([header.subarray(30), Buffer.from(request("/", true))]),
    ]) {
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await closed;
    const [reply] = echoes(Buffer.concat(received).toString("latin1"));
    expect(reply?.headers["x-forwarded-for"]).toBe("2001:db8::7");
    expect(reply?.headers.forwarded).toBe('for="[2001:db8::7]";proto=http;host=site.test');

    const local = Buffer.from("0d0a0d0a000d0a515549540a20000000", "hex");
    const [own] = echoes(await rawRequest(port, Buffer.concat([local, Buffer.from(request("/", true))])));
    expect(own?.headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("counts each named client in its own rate-limit bucket", async () => {
    const echo = await backend();
    const { port } = await startProxy(echo, { rateLimit: { rate: 1, periodMs: 60_000 } });
    const statusFor = async (sourceAddress: string) => {
      const header = encodeProxyHeader("v1", { ...CLIENT, sourceAddress }).toString("latin1");
      return (await rawRequest(port, header + request("/", true))).slice(9, 12);
    };
    expect(await statusFor("203.0.113.1")).toBe("200");
    expect(await statusFor("203.0.113.1")).toBe("429");
    expect(await statusFor("203.0.113.2")).toBe("200");
  });

  it("reads the header before the HTTP/2 preface (h2c)", async () => {
    const echo = await backend();
    const { port } = await startProxy(echo, { h2c: true });
    const session = http2.connect(`http://${LOCALHOST}:${port}`, {
      createConnection: () => connectWithHeader(port, encodeProxyHeader("v2", CLIENT)),
    });
    cleanups.push(() => session.close());
    const response = await h2request(session, { ":path": "/h2c", ":authority": "site.test" });
    const reply = JSON.parse(response.body.toString()) as EchoReply;
    expect(reply.url).toBe("/h2c");
    expect(reply.headers["x-forwarded-for"]).toBe("203.0.113.9");
  });

  it("reads the header before TLS, and the client it names holds over HTTP/1.1 and h2", async () => {
    const echo = await backend();
    const certificates = await TlsCertificates.load([certificate]);
    const { port } = await startProxy(echo, { tls: { certificates } });
    const ca = readFileSync(certificate.cert);
    const header = encodeProxyHeader("v1", CLIENT);

    const overHttp1 = tls.connect({ socket: connectWithHeader(port, header), servername: "site.test", ca });
    const received: Buffer[] = [];
    overHttp1.on("data", (chunk: Buffer) => received.push(chunk));
    await new Promise((resolve) => overHttp1.once("secureConnect", resolve));
    overHttp1.write(request("/tls", true));
    await new Promise((resolve) => overHttp1.on("close", resolve));
    const [reply] = echoes(Buffer.concat(received).toString("latin1"));
    expect(reply?.headers["x-forwarded-for"]).toBe("203.0.113.9");
    expect(reply?.headers["x-forwarded-proto"]).toBe("https");

    const session = http2.connect(`https://site.test:${port}`, {
      createConnection: () =>
        tls.connect({
          socket: connectWithHeader(port, header),
          servername: "site.test",
          ca,
          ALPNProtocols: ["h2"],
        }),
    });
    cleanups.push(() => session.close());
    const response = await h2request(session, { ":path": "/h2", ":authority": "site.test" });
    expect((JSON.parse(response.body.toString()) as EchoReply).headers["x-forwarded-for"]).toBe(
      "203.0.113.9",
    );
  });

  it("closes, with no answer and nothing sent on, a connection without a valid header in time", async () => {
    const echo = await backend();
    const { proxy, port } = await startProxy(echo, { timeouts: { requestHeadMs: 200 } });
    expect(await rawRequest(port, request("/", true))).toBe("");
    expect(
      await rawRequest(port, `PROXY TCP4 203.0.113.9 198.51.100.1 40000 99999\r\n${request("/", true)}`),
    ).toBe("");
    const startedAt = Date.now();
    expect(await rawRequest(port, "PROXY TCP4 203.0.113.9")).toBe("");
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
    expect(echo.requests).toBe(0);
    expect(proxy.stats().requests).toBe(0);
  });

  it("chains from a config file: a tcp listener sends the header, an http listener behind it takes it", async () => {
    const echo = await backend();
    const inner = await startSwitchyard(
      parseConfig({
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web", acceptProxyProtocol: true }],
        pools: { web: { backends: [{ address: echo.address }] } },
      }),
    );
    cleanups.push(() => inner.close(200));
    const edge = await startSwitchyard(
      parseConfig({
        listeners: [
          { name: "edge", protocol: "tcp", listen: "127.0.0.1:0", pool: "web", sendProxyProtocol: "v2" },
        ],
        pools: { web: { backends: [{ address: `127.0.0.1:${inner.listeners[0]?.port}` }] } },
      }),
    );
    cleanups.push(() => edge.close(200));
    // From another loopback address, so the client is told apart from the edge proxy.
    const socket = net.connect({
      host: LOCALHOST,
      port: edge.listeners[0]?.port as number,
      localAddress: "127.0.0.2",
    });
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.write(request("/chained", true));
    await new Promise((resolve) => socket.on("close", resolve));
    const [reply] = echoes(Buffer.concat(received).toString("latin1"));
    expect(reply?.url).toBe("/chained");
    expect(reply?.headers["x-forwarded-for"]).toBe("127.0.0.2");
  });

  it("closes the connections still waiting for a header when the listener closes", async () => {
    const echo = await backend();
    const { proxy, port } = await startProxy(echo);
    const waiting = net.connect({ host: LOCALHOST, port });
    waiting.on("error", () => {});
    await new Promise((resolve) => waiting.once("connect", resolve));
    waiting.write("PROXY TCP4");
    const closed = new Promise((resolve) => waiting.once("close", resolve));
    const startedAt = Date.now();
    await proxy.close(5_000);
    await closed;
    expect(Date.now() - startedAt).toBeLessThan(2_000);
  });
});
