/**
 * WebSocket pass-through end to end with the `ws` package on both sides:
 * messages echo through the proxy, the backend sees the forwarding headers,
 * `backend.active` counts the open tunnel, connect failures fail over,
 * refused upgrades get coded answers, idle tunnels are closed after
 * `websocketIdleMs` while busy ones stay open, and tunnels to a draining
 * backend close after `drainTimeoutMs` (at once when it is removed).
 */
import type http from "node:http";
import net from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket, WebSocketServer } from "ws";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import type { Backend } from "../src/core/backend.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { useCleanups } from "./helpers/fixtures.js";
import { closedPort, LOCALHOST, rawRequest, waitFor } from "./helpers/servers.js";

const cleanups = useCleanups();

afterEach(() => {
  vi.restoreAllMocks();
});

interface EchoWebSocketServer {
  address: string;
  /** Request heads of the upgrades the server accepted. */
  upgrades: http.IncomingMessage[];
  /** Server-side sockets closed so far. */
  readonly closed: number;
}

async function startWebSocketEcho(): Promise<EchoWebSocketServer> {
  const upgrades: http.IncomingMessage[] = [];
  let closed = 0;
  const wss = new WebSocketServer({ host: LOCALHOST, port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  wss.on("connection", (socket, req) => {
    upgrades.push(req);
    socket.on("close", () => closed++);
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  );
  const { port } = wss.address() as net.AddressInfo;
  return {
    address: `${LOCALHOST}:${port}`,
    upgrades,
    get closed() {
      return closed;
    },
  };
}

async function startProxy(
  addresses: string[],
  options: Partial<HttpProxyOptions> = {},
): Promise<{ balancer: Balancer; port: number; proxy: HttpProxy }> {
  const balancer = createBalancer({ backends: addresses.map((address) => ({ address })) });
  const proxy = new HttpProxy({ balancer, ...options });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return { balancer, port, proxy };
}

/**
 * A raw TCP backend that answers the first request head with `101` and echoes
 * what follows (`upgrade: true`), or with a plain `200` (`upgrade: false`);
 * `received` is every byte it got.
 */
async function startRawUpgradeBackend(
  upgrade: boolean,
): Promise<{ address: string; received: () => string }> {
  let received = "";
  const server = net.createServer((socket) => {
    let answered = false;
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (answered) {
        if (upgrade) socket.write(chunk);
        return;
      }
      const headEnd = received.indexOf("\r\n\r\n");
      if (headEnd < 0) return;
      answered = true;
      if (!upgrade) {
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno");
        return;
      }
      socket.write("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n");
      socket.write(received.slice(headEnd + 4), "latin1");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    address: `${LOCALHOST}:${(server.address() as net.AddressInfo).port}`,
    received: () => received,
  };
}

const RAW_UPGRADE = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n";

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.once("open", () => resolve(socket));
    socket.once("error", reject);
    cleanups.push(async () => socket.terminate());
  });
}

function nextMessage(socket: WebSocket): Promise<{ data: string; binary: boolean }> {
  return new Promise((resolve) =>
    socket.once("message", (data, binary) => resolve({ data: data.toString(), binary })),
  );
}

describe("WebSocket pass-through", () => {
  it("echoes messages through the proxy and counts the tunnel on the backend", async () => {
    const echo = await startWebSocketEcho();
    const { balancer, port, proxy } = await startProxy([echo.address]);
    const backend = balancer.pool.backends[0];
    expect(backend?.active).toBe(0);

    const client = await open(`ws://${LOCALHOST}:${port}/chat?room=1`);
    const reply = nextMessage(client);
    client.send("hello through the yard");
    expect(await reply).toEqual({ data: "hello through the yard", binary: false });

    const big = Buffer.alloc(256 * 1024, 7);
    const binaryReply = new Promise<Buffer>((resolve) =>
      client.once("message", (data) => resolve(data as Buffer)),
    );
    client.send(big);
    expect((await binaryReply).equals(big)).toBe(true);

    expect(backend?.active).toBe(1);
    expect(backend?.inFlight).toBe(1);
    expect(proxy.inFlight).toBe(1);
    const upgrade = echo.upgrades[0];
    expect(upgrade?.url).toBe("/chat?room=1");
    expect(upgrade?.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(upgrade?.headers.forwarded).toMatch(/^for=127\.0\.0\.1;proto=http;host=/);

    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    client.close();
    await closed;
    await waitFor(() => backend?.active === 0 && backend.inFlight === 0);
    expect(proxy.inFlight).toBe(0);
    expect(backend?.requests).toBe(1);
    expect(backend?.errors).toBe(0);
  });

  it("fails over to the next backend when the first refuses the connection", async () => {
    const dead = await closedPort();
    const echo = await startWebSocketEcho();
    const { balancer, port, proxy } = await startProxy([`${LOCALHOST}:${dead}`, echo.address]);
    const client = await open(`ws://${LOCALHOST}:${port}/`);
    const reply = nextMessage(client);
    client.send("ping");
    expect((await reply).data).toBe("ping");
    expect(balancer.pool.backends[0]?.errors).toBe(1);
    expect(balancer.pool.backends[1]?.active).toBe(1);
    // The listener's attempt policy counted the failover, as for an HTTP request.
    expect(proxy.stats()).toMatchObject({ retries: 1, retryBudgetExhausted: 0 });
  });

  it("holds upgrade failovers to the listener's maxRetries and retry budget", async () => {
    const dead = await closedPort();
    const echo = await startWebSocketEcho();
    const addresses = [`${LOCALHOST}:${dead}`, echo.address];
    const noRetries = await startProxy(addresses, { maxRetries: 0 });
    await expect(open(`ws://${LOCALHOST}:${noRetries.port}/`)).rejects.toThrow(/502/);
    const noBudget = await startProxy(addresses, { retryBudget: { ratio: 0, minRetriesPerSecond: 0 } });
    await expect(open(`ws://${LOCALHOST}:${noBudget.port}/`)).rejects.toThrow(/502/);
    expect(noBudget.proxy.stats()).toMatchObject({ retries: 0, retryBudgetExhausted: 1 });
  });

  it("answers 502 when no backend accepts the connection and 503 when none is ready", async () => {
    const dead = await closedPort();
    const { balancer, port } = await startProxy([`${LOCALHOST}:${dead}`]);
    const upgrade =
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    const refused = await rawRequest(port, upgrade);
    expect(refused).toMatch(/^HTTP\/1\.1 502 /);
    expect(refused).toContain("x-switchyard-error: SY_ERR_UPSTREAM_CONNECT");

    for (const backend of balancer.pool.backends) balancer.pool.disable(backend.id);
    const none = await rawRequest(port, upgrade);
    expect(none).toMatch(/^HTTP\/1\.1 503 /);
    expect(none).toContain("x-switchyard-error: SY_ERR_NO_BACKEND");
    expect(balancer.pool.backends[0]?.active).toBe(0);
  });

  it("answers 500 SY_ERR_INTERNAL when selection throws unexpectedly", async () => {
    const echo = await startWebSocketEcho();
    const { balancer, port } = await startProxy([echo.address]);
    vi.spyOn(balancer, "select").mockImplementation(() => {
      throw new Error("selector exploded");
    });
    const response = await rawRequest(
      port,
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    expect(response).toMatch(/^HTTP\/1\.1 500 /);
    expect(response).toContain("x-switchyard-error: SY_ERR_INTERNAL");
    expect(echo.upgrades).toHaveLength(0);
  });

  it("keeps a busy tunnel open and closes both sides once it is idle for websocketIdleMs", async () => {
    const echo = await startWebSocketEcho();
    const { balancer, port, proxy } = await startProxy([echo.address], { websocketIdleMs: 300 });
    const backend = balancer.pool.backends[0];
    const client = await open(`ws://${LOCALHOST}:${port}/`);
    let closedAt = 0;
    const closed = new Promise<void>((resolve) =>
      client.once("close", () => {
        closedAt = Date.now();
        resolve();
      }),
    );

    // Traffic every 50 ms for three idle periods: the timer keeps being reset.
    for (let i = 0; i < 18; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 50));
      const reply = nextMessage(client);
      client.send(`tick ${i}`);
      expect((await reply).data).toBe(`tick ${i}`);
    }
    const quietSince = Date.now();
    expect(client.readyState).toBe(WebSocket.OPEN);
    expect(backend?.active).toBe(1);

    await closed;
    expect(closedAt - quietSince).toBeGreaterThanOrEqual(200);
    expect(closedAt - quietSince).toBeLessThan(3_000);
    await waitFor(() => echo.closed === 1);
    await waitFor(() => backend?.active === 0 && backend.inFlight === 0);
    expect(proxy.inFlight).toBe(0);
    expect(backend?.errors).toBe(0);
  });

  it("sends the client's bytes to a backend only after it answered 101, early ones included", async () => {
    const backend = await startRawUpgradeBackend(true);
    const { port } = await startProxy([backend.address]);
    const answer = await rawRequest(port, `${RAW_UPGRADE}sent with the head`, 500);
    expect(answer).toMatch(/^HTTP\/1\.1 101 [\s\S]*\r\n\r\nsent with the head$/);
  });

  it("sends nothing more to a backend that answers an Upgrade without 101, and closes after its answer", async () => {
    const backend = await startRawUpgradeBackend(false);
    const { port } = await startProxy([backend.address]);
    // Were the tunnel opened anyway, the backend would read this as a request the proxy never framed.
    const smuggled = "GET /admin HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n";
    const answer = await rawRequest(port, `${RAW_UPGRADE}${smuggled}`);
    expect(answer).toBe("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno");
    expect(backend.received()).toMatch(/^GET \/ws HTTP\/1\.1\r\n/);
    expect(backend.received()).not.toContain("/admin");
  });

  it("reads the backend's answer as strictly as any response's, within timeouts.headersMs", async () => {
    /** A backend that answers every upgrade with `answer` (nothing, for undefined). */
    const answering = async (answer: string | undefined): Promise<string> => {
      const server = net.createServer((socket) => {
        socket.on("error", () => undefined);
        socket.once("data", () => {
          if (answer !== undefined) socket.write(answer, "latin1");
        });
      });
      await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
      cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
      return `${LOCALHOST}:${(server.address() as net.AddressInfo).port}`;
    };
    const malformed = [
      "HTTP/1.1 403 Forbidden\r\nX: a\x00b\r\ncontent-length: 0\r\n\r\n",
      "HTTP/1.1 403 Forbidden\r\nX: a\nSet-Cookie: injected=1\r\ncontent-length: 0\r\n\r\n",
      "HTTP/1.1 403 Forbidden\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\nno",
    ];
    for (const answer of malformed) {
      const { port, balancer } = await startProxy([await answering(answer)], { maxRetries: 0 });
      const relayed = await rawRequest(port, RAW_UPGRADE);
      expect(relayed).toMatch(/^HTTP\/1\.1 502 /);
      expect(relayed).toContain("SY_ERR_UPSTREAM_PROTOCOL");
      expect(relayed).not.toContain("injected");
      expect(balancer.pool.backends[0]?.errors).toBe(1);
    }
    const silent = await startProxy([await answering(undefined)], {
      timeouts: { headersMs: 150 },
      maxRetries: 0,
    });
    const startedAt = Date.now();
    const late = await rawRequest(silent.port, RAW_UPGRADE);
    expect(late).toMatch(/^HTTP\/1\.1 504 /);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(140);
    // Early Hints before the 101 are the backend's business: the client gets the 101, then the tunnel.
    const hinted = await startProxy([
      await answering(
        "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\nhello",
      ),
    ]);
    expect(await rawRequest(hinted.port, RAW_UPGRADE, 300)).toBe(
      "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\nhello",
    );
  });

  it("answers an Upgrade: h2c request as a plain one, never tunnelling HTTP/2 past the routes (h2c smuggling)", async () => {
    // A backend that would switch to h2c if asked: it never is, so its 101 never comes.
    const backend = await startRawUpgradeBackend(false);
    const { port } = await startProxy([backend.address]);
    const h2c =
      "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n";
    const answer = await rawRequest(
      port,
      `POST /api HTTP/1.1\r\nHost: a\r\n${h2c}Content-Length: 5\r\n\r\nhello`,
      500,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nno$/);
    const received = backend.received().toLowerCase();
    expect(received).toMatch(/^post \/api http\/1\.1\r\n/);
    expect(received).not.toContain("upgrade");
    expect(received).not.toContain("http2-settings");
    expect(received).toMatch(/\r\n\r\nhello$/);
  });

  it("rejects a websocketIdleMs that is not a positive timer duration", async () => {
    const balancer = createBalancer({ backends: [{ address: `${LOCALHOST}:1` }] });
    for (const websocketIdleMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31]) {
      expect(() => new HttpProxy({ balancer, websocketIdleMs })).toThrow(
        expect.objectContaining({ code: "SY_ERR_INVALID_OPTIONS" }),
      );
    }
  });

  it("closes open tunnels when the proxy shuts down", async () => {
    const echo = await startWebSocketEcho();
    const { balancer, port, proxy } = await startProxy([echo.address]);
    const client = await open(`ws://${LOCALHOST}:${port}/`);
    const closed = new Promise<void>((resolve) => client.once("close", () => resolve()));
    await proxy.close(100);
    await closed;
    expect(balancer.pool.backends[0]?.active).toBe(0);
    expect(proxy.inFlight).toBe(0);
  });
});

describe("WebSocket tunnels of a departing backend", () => {
  /** Round-trips one message; true when the echo came back. */
  async function works(client: WebSocket, text: string): Promise<boolean> {
    if (client.readyState !== WebSocket.OPEN) return false;
    const reply = nextMessage(client);
    client.send(text);
    return (await reply).data === text;
  }

  function closedAt(client: WebSocket): Promise<number> {
    return new Promise((resolve) => client.once("close", () => resolve(Date.now())));
  }

  it("keeps tunnels to a draining backend open for drainTimeoutMs, then closes them", async () => {
    const echo = await startWebSocketEcho();
    const { balancer, port, proxy } = await startProxy([echo.address], { drainTimeoutMs: 400 });
    const backend = balancer.pool.backends[0];
    const client = await open(`ws://${LOCALHOST}:${port}/`);
    const closed = closedAt(client);
    expect(proxy.tunnelsTo(backend as Backend)).toBe(1);

    const drainedAt = Date.now();
    balancer.pool.setState(backend?.id as string, "draining");
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await works(client, "still here")).toBe(true);

    const elapsed = (await closed) - drainedAt;
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(3_000);
    await waitFor(() => backend?.active === 0 && backend.inFlight === 0);
    expect(proxy.tunnelsTo(backend as Backend)).toBe(0);
    expect(proxy.inFlight).toBe(0);
  });

  it("keeps the tunnels when the backend leaves draining before the deadline", async () => {
    const echo = await startWebSocketEcho();
    const { balancer, port } = await startProxy([echo.address], { drainTimeoutMs: 200 });
    const id = balancer.pool.backends[0]?.id as string;
    const client = await open(`ws://${LOCALHOST}:${port}/`);
    balancer.pool.setState(id, "draining");
    await new Promise((resolve) => setTimeout(resolve, 50));
    balancer.pool.setState(id, "healthy");
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await works(client, "kept")).toBe(true);
  });

  it("closes tunnels when the backend is removed, after pool.remove's drain wait", async () => {
    const echo = await startWebSocketEcho();
    const other = await startWebSocketEcho();
    // The listener's own deadline is far away: the removal is what closes the tunnel.
    const { balancer, port, proxy } = await startProxy([echo.address, other.address], {
      drainTimeoutMs: 60_000,
    });
    const [first, second] = balancer.pool.backends;
    const onFirst = await open(`ws://${LOCALHOST}:${port}/`);
    const onSecond = await open(`ws://${LOCALHOST}:${port}/`);
    expect(first?.active).toBe(1);
    expect(second?.active).toBe(1);
    const closed = closedAt(onFirst);

    const started = Date.now();
    const removal = balancer.pool.remove(first?.id as string, { drain: true, drainTimeoutMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await works(onFirst, "draining but open")).toBe(true);
    await removal;
    const elapsed = (await closed) - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    await waitFor(() => first?.active === 0 && first.inFlight === 0);
    await waitFor(() => echo.closed === 1);

    // The other backend's tunnel is untouched; new tunnels go there.
    expect(await works(onSecond, "unaffected")).toBe(true);
    const fresh = await open(`ws://${LOCALHOST}:${port}/`);
    expect(await works(fresh, "new")).toBe(true);
    expect(second?.active).toBe(2);
    expect(proxy.tunnelsTo(second as Backend)).toBe(2);

    // Removed without a drain: its tunnels close at once.
    const closedNow = closedAt(onSecond);
    const removedAt = Date.now();
    await balancer.pool.remove(second?.id as string);
    expect((await closedNow) - removedAt).toBeLessThan(1_000);
    await waitFor(() => second?.active === 0 && proxy.inFlight === 0);
  });
});
