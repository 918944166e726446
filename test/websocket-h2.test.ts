/**
 * WebSocket tunnels to `backendProtocol: h2` pools go over HTTP/2 (RFC 8441
 * extended CONNECT) while the client still speaks an HTTP/1.1 Upgrade. The
 * backends are node:http2 servers without HTTP/1 (h2c, or TLS with ALPN h2)
 * that run a real `ws` WebSocket on each `:protocol: websocket` stream; the
 * client is a real `ws` client, which checks Sec-WebSocket-Accept and the
 * subprotocol itself. A backend that does not advertise
 * SETTINGS_ENABLE_CONNECT_PROTOCOL fails the attempt (502 with the reason, or
 * the next candidate); a refusal reaches the client as HTTP/1.1; the tunnel
 * counts on the backend and its session closes with it.
 */
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import type net from "node:net";
import type { Duplex } from "node:stream";
import { describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import type { Backend } from "../src/core/backend.js";
import type { UpstreamTlsSettings } from "../src/core/upstream-tls.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { makeCa, makeSigned } from "./helpers/certificates.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import { closedPort, LOCALHOST, rawRequest, waitFor } from "./helpers/servers.js";

const dir = useTempDirNow("switchyard-ws-h2-");
const ca = makeCa(dir, "ws-h2-ca");
const siteFiles = makeSigned(dir, ca, "backend", "backend", ["backend.test"]);
const site = { cert: readFileSync(siteFiles.cert), key: readFileSync(siteFiles.key) };
const TLS_SETTINGS = { ca: ca.cert, serverName: "backend.test" };

const cleanups = useCleanups();

/**
 * ws's server-side WebSocket, set up over any Duplex as its own
 * WebSocketServer does over a socket (neither is in ws's typings).
 */
const ServerWebSocket = WebSocket as unknown as new (
  address: null,
  protocols: undefined,
  options: object,
) => WebSocket & { setSocket(socket: Duplex, head: Buffer, options: object): void };

/** What a backend does with a `:protocol: websocket` stream. */
type Mode = "websocket" | "echo-bytes" | "refuse" | "silent";

interface H2WebSocketBackend {
  address: string;
  /** Each CONNECT stream's request fields. */
  streams: http2.IncomingHttpHeaders[];
  /** Sessions still open. */
  readonly openSessions: number;
  /** WebSockets still open on the backend. */
  readonly openSockets: number;
}

/**
 * An HTTP/2-only backend. `websocket`: answers 200 (with the first offered
 * subprotocol) and runs a server-side `ws` WebSocket on the stream that echoes
 * messages and greets first; `echo-bytes`: answers 200 and echoes raw bytes;
 * `refuse`: answers 403 with a body; `silent`: never answers.
 */
async function startBackend(
  mode: Mode,
  options: { tls?: boolean; extendedConnect?: boolean } = {},
): Promise<H2WebSocketBackend> {
  const settings = { enableConnectProtocol: options.extendedConnect ?? true };
  const server = options.tls
    ? http2.createSecureServer({ cert: site.cert, key: site.key, allowHTTP1: false, settings })
    : http2.createServer({ settings });
  const streams: http2.IncomingHttpHeaders[] = [];
  const sockets = new Set<WebSocket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  server.on("stream", (stream, headers) => {
    streams.push(headers);
    stream.on("error", () => undefined);
    if (headers[":method"] !== "CONNECT" || headers[":protocol"] !== "websocket") {
      stream.respond({ ":status": 400 }, { endStream: true });
      return;
    }
    if (mode === "silent") return;
    if (mode === "refuse") {
      stream.respond({ ":status": 403, "content-type": "text/plain", "x-reason": "not here" });
      stream.end("nope");
      return;
    }
    const offered = String(headers["sec-websocket-protocol"] ?? "")
      .split(",")[0]
      ?.trim();
    stream.respond({ ":status": 200, ...(offered ? { "sec-websocket-protocol": offered } : {}) });
    if (mode === "echo-bytes") {
      stream.pipe(stream);
      return;
    }
    const socket = new ServerWebSocket(null, undefined, {});
    socket.setSocket(stream, Buffer.alloc(0), { maxPayload: 100 * 1024 * 1024 });
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.send("hello from h2");
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.terminate();
    for (const session of sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as net.AddressInfo;
  return {
    address: `${options.tls ? "https" : "http"}://${LOCALHOST}:${port}`,
    streams,
    get openSessions() {
      return sessions.size;
    },
    get openSockets() {
      return sockets.size;
    },
  };
}

async function startProxy(
  addresses: string[],
  options: Partial<HttpProxyOptions> = {},
  backendTls?: UpstreamTlsSettings,
): Promise<{ balancer: Balancer; port: number; proxy: HttpProxy }> {
  const balancer = createBalancer({
    backends: addresses.map((address) => ({ address })),
    backendProtocol: "h2",
    backendTls,
  });
  const proxy = new HttpProxy({ balancer, ...options });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return { balancer, port, proxy };
}

/** Opens a ws client; resolves with it and the first message, which the backend sends unasked. */
function open(url: string, protocols?: string[]): Promise<{ client: WebSocket; greeting: string }> {
  return new Promise((resolve, reject) => {
    const client = new WebSocket(url, protocols);
    cleanups.push(async () => client.terminate());
    client.once("message", (data) => resolve({ client, greeting: data.toString() }));
    client.once("error", reject);
  });
}

function nextMessage(client: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) =>
    client.once("message", (data, binary) => resolve({ data: data as Buffer, binary })),
  );
}

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
/** RFC 6455 §1.3's worked example: the accept for KEY. */
const ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const UPGRADE =
  "GET /raw HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEY}\r\n\r\n`;

describe("WebSocket over HTTP/2 to h2 backends", () => {
  it("tunnels a ws client's upgrade as an extended CONNECT to an h2c backend, messages both ways", async () => {
    const backend = await startBackend("websocket");
    const { balancer, port, proxy } = await startProxy([backend.address]);
    const pooled = balancer.pool.backends[0];

    const { client, greeting } = await open(`ws://${LOCALHOST}:${port}/chat?room=1`, ["chat.v2", "chat.v1"]);
    expect(greeting).toBe("hello from h2");
    expect(client.protocol).toBe("chat.v2");
    const reply = nextMessage(client);
    client.send("hello through the yard");
    expect((await reply).data.toString()).toBe("hello through the yard");
    const big = Buffer.alloc(256 * 1024, 7);
    const binaryReply = nextMessage(client);
    client.send(big);
    const echoed = await binaryReply;
    expect(echoed.binary).toBe(true);
    expect(echoed.data.equals(big)).toBe(true);

    const head = backend.streams[0] as http2.IncomingHttpHeaders;
    expect(head[":method"]).toBe("CONNECT");
    expect(head[":protocol"]).toBe("websocket");
    expect(head[":scheme"]).toBe("http");
    expect(head[":path"]).toBe("/chat?room=1");
    expect(head[":authority"]).toBe(`${LOCALHOST}:${port}`);
    expect(head["sec-websocket-key"]).toBeUndefined();
    expect(head["sec-websocket-version"]).toBe("13");
    expect(head["sec-websocket-protocol"]).toBe("chat.v2,chat.v1");
    expect(head["x-forwarded-for"]).toBe("127.0.0.1");
    expect(head.connection).toBeUndefined();
    expect(head.upgrade).toBeUndefined();
    expect(pooled?.active).toBe(1);
    expect(proxy.inFlight).toBe(1);
    expect(backend.openSessions).toBe(1);

    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.close();
    await closed;
    await waitFor(() => pooled?.active === 0 && pooled.inFlight === 0);
    // The tunnel's session closes with it.
    await waitFor(() => backend.openSessions === 0 && backend.openSockets === 0);
    expect(proxy.inFlight).toBe(0);
    expect(pooled?.requests).toBe(1);
    expect(pooled?.errors).toBe(0);
  });

  it("answers 101 with the accept the client's key asks for and sends the early bytes once switched", async () => {
    const backend = await startBackend("echo-bytes");
    const { port } = await startProxy([backend.address]);
    const answer = await rawRequest(port, `${UPGRADE}sent with the head`, 500);
    expect(answer).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(answer).toContain(`Sec-WebSocket-Accept: ${ACCEPT}\r\n`);
    expect(answer).toContain("Upgrade: websocket\r\n");
    expect(answer).toMatch(/\r\n\r\nsent with the head$/);
    expect(backend.streams[0]?.[":authority"]).toBe("ws.example");
  });

  it("relays a refusal as an HTTP/1.1 response with its fields and body, and closes", async () => {
    const backend = await startBackend("refuse");
    const { balancer, port } = await startProxy([backend.address]);
    const answer = await rawRequest(port, UPGRADE);
    expect(answer).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(answer).toContain("x-reason: not here\r\n");
    expect(answer).toMatch(/\r\n\r\nnope$/);
    const pooled = balancer.pool.backends[0];
    await waitFor(() => pooled?.active === 0 && pooled.inFlight === 0);
    await waitFor(() => backend.openSessions === 0);
  });

  it("answers 504 when the backend does not answer the extended CONNECT within timeouts.headersMs", async () => {
    const backend = await startBackend("silent");
    const { balancer, port } = await startProxy([backend.address], {
      timeouts: { headersMs: 150 },
      maxRetries: 0,
    });
    const startedAt = Date.now();
    const answer = await rawRequest(port, UPGRADE);
    expect(answer).toMatch(/^HTTP\/1\.1 504 /);
    expect(answer).toContain("x-switchyard-error: SY_ERR_UPSTREAM_TIMEOUT");
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
    expect(balancer.pool.backends[0]?.errors).toBe(1);
    await waitFor(() => backend.openSessions === 0);
  });

  it("fails a backend without SETTINGS_ENABLE_CONNECT_PROTOCOL over to the next candidate, or answers 502 why", async () => {
    const plain = await startBackend("websocket", { extendedConnect: false });
    const good = await startBackend("websocket");
    const { balancer, port, proxy } = await startProxy([plain.address, good.address]);
    const { greeting } = await open(`ws://${LOCALHOST}:${port}/`);
    expect(greeting).toBe("hello from h2");
    expect(plain.streams).toHaveLength(0);
    expect(balancer.pool.backends[0]?.errors).toBe(1);
    expect(balancer.pool.backends[1]?.active).toBe(1);
    expect(proxy.stats()).toMatchObject({ retries: 1 });
    await waitFor(() => plain.openSessions === 0);

    const alone = await startProxy([plain.address]);
    const answer = await rawRequest(alone.port, UPGRADE);
    expect(answer).toMatch(/^HTTP\/1\.1 502 /);
    expect(answer).toContain("x-switchyard-error: SY_ERR_UPSTREAM_CONNECT");
    expect(answer).toContain("SETTINGS_ENABLE_CONNECT_PROTOCOL");
  });

  it("fails over from a refused connection and holds failovers to maxRetries", async () => {
    const dead = `http://${LOCALHOST}:${await closedPort()}`;
    const good = await startBackend("websocket");
    const { balancer, port } = await startProxy([dead, good.address]);
    const { greeting } = await open(`ws://${LOCALHOST}:${port}/`);
    expect(greeting).toBe("hello from h2");
    expect(balancer.pool.backends[0]?.errors).toBe(1);

    const noRetries = await startProxy([dead, good.address], { maxRetries: 0 });
    const answer = await rawRequest(noRetries.port, UPGRADE);
    expect(answer).toMatch(/^HTTP\/1\.1 502 /);
    expect(answer).toContain("x-switchyard-error: SY_ERR_UPSTREAM_CONNECT");
  });

  it("tunnels to a TLS h2-only backend over ALPN h2 with the pool's backendTls", async () => {
    const backend = await startBackend("websocket", { tls: true });
    const { port } = await startProxy([backend.address], {}, TLS_SETTINGS);
    const { client, greeting } = await open(`ws://${LOCALHOST}:${port}/secure`);
    expect(greeting).toBe("hello from h2");
    const reply = nextMessage(client);
    client.send("over tls");
    expect((await reply).data.toString()).toBe("over tls");
    expect(backend.streams[0]?.[":scheme"]).toBe("https");
  });

  it("closes tunnels to a draining backend after drainTimeoutMs, their sessions with them", async () => {
    const backend = await startBackend("websocket");
    const { balancer, port, proxy } = await startProxy([backend.address], { drainTimeoutMs: 300 });
    const pooled = balancer.pool.backends[0];
    const { client } = await open(`ws://${LOCALHOST}:${port}/`);
    expect(proxy.tunnelsTo(pooled as Backend)).toBe(1);
    const closed = new Promise<number>((resolve) => client.once("close", () => resolve(Date.now())));
    const drainedAt = Date.now();
    balancer.pool.setState(pooled?.id as string, "draining");
    const elapsed = (await closed) - drainedAt;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    await waitFor(() => pooled?.active === 0 && backend.openSessions === 0);
    expect(proxy.tunnelsTo(pooled as Backend)).toBe(0);
  });

  it("closes an idle tunnel, and open ones with their sessions when the proxy shuts down", async () => {
    const backend = await startBackend("websocket");
    const { balancer, port, proxy } = await startProxy([backend.address], { websocketIdleMs: 300 });
    const pooled = balancer.pool.backends[0];
    const idle = await open(`ws://${LOCALHOST}:${port}/`);
    const idleClosed = new Promise<void>((resolve) => idle.client.once("close", () => resolve()));
    await idleClosed;
    await waitFor(() => pooled?.active === 0 && backend.openSessions === 0);

    const busy = await open(`ws://${LOCALHOST}:${port}/`);
    const closed = new Promise<void>((resolve) => busy.client.once("close", () => resolve()));
    await proxy.close(100);
    await closed;
    await waitFor(() => backend.openSessions === 0);
    expect(pooled?.active).toBe(0);
    expect(proxy.inFlight).toBe(0);
  });
});
