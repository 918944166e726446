/**
 * HTTP proxy end to end: real backends and real clients on 127.0.0.1, ports
 * chosen by the OS. Covers forwarding (bodies, headers, trailers), balancing,
 * failover and its limits for non-idempotent requests, retries on `retryOn`
 * statuses, request bodies kept and resent for retries, the retry budget,
 * `stats()`, unhealthy and removed backends, coded error answers
 * (including 500 SY_ERR_INTERNAL when backend selection throws unexpectedly),
 * misbehaving clients and backends, and graceful shutdown.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { reusePortAvailable } from "../src/core/accept-sockets.js";
import { ErrorCodes, SwitchyardError } from "../src/core/errors.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { useCleanups } from "./helpers/fixtures.js";
import { listeningSocketsOn } from "./helpers/listening-sockets.js";
import {
  closedPort,
  type EchoReply,
  LOCALHOST,
  rawRequest,
  request,
  startEchoServer,
  startServer,
  type TestRequestOptions,
  type TestServer,
  waitFor,
} from "./helpers/servers.js";

const cleanups = useCleanups();

afterEach(() => {
  vi.restoreAllMocks();
});

async function track(server: Promise<TestServer>): Promise<TestServer> {
  const started = await server;
  cleanups.push(() => started.close());
  return started;
}

async function startProxy(
  addresses: string[],
  options: Partial<HttpProxyOptions> = {},
): Promise<{ proxy: HttpProxy; balancer: Balancer; port: number }> {
  const balancer = createBalancer({ backends: addresses.map((address) => ({ address })) });
  const proxy = new HttpProxy({ balancer, ...options });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return { proxy, balancer, port };
}

/** A pino logger that keeps every entry, for asserting on what was logged. */
function capturingLogger(): { logger: pino.Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => entries.push(JSON.parse(line)) });
  return { logger, entries };
}

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size);
}

describe("HttpProxy forwarding", () => {
  it("forwards GET and POST with their bodies", async () => {
    const echo = await track(startEchoServer("a"));
    const { port } = await startProxy([echo.address]);

    const get = await request({ port, path: "/hello?x=1" });
    expect(get.status).toBe(200);
    expect(get.headers["x-backend"]).toBe("a");
    const getReply = JSON.parse(get.text) as EchoReply;
    expect(getReply).toMatchObject({ method: "GET", url: "/hello?x=1", body: "" });

    const post = await request({
      port,
      method: "POST",
      path: "/submit",
      headers: { "content-type": "text/plain" },
      body: "name=switchyard",
    });
    expect(post.status).toBe(200);
    expect(JSON.parse(post.text)).toMatchObject({ method: "POST", url: "/submit", body: "name=switchyard" });

    // Chunked upload (no Content-Length) is streamed upstream too.
    const chunked = await request({
      port,
      method: "PUT",
      path: "/chunked",
      body: [Buffer.from("one,"), Buffer.from("two")],
    });
    expect(JSON.parse(chunked.text)).toMatchObject({ method: "PUT", body: "one,two" });
  });

  it("answers Expect: 100-continue itself and forwards HEAD without a body", async () => {
    const echo = await track(startEchoServer());
    const { port } = await startProxy([echo.address]);
    const raw = await rawRequest(
      port,
      "POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    expect(raw).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    const reply = JSON.parse(raw.slice(raw.indexOf("{"))) as EchoReply;
    expect(reply.body).toBe("hello");
    expect(reply.headers.expect).toBeUndefined();

    const head = await request({ port, method: "HEAD" });
    expect(head.status).toBe(200);
    expect(Number(head.headers["content-length"])).toBeGreaterThan(0);
    expect(head.body.length).toBe(0);
  });

  it("streams a 5 MB body both ways", async () => {
    const payload = randomBytes(5 * 1024 * 1024);
    const backend = await track(
      startServer((req, res) => {
        if (req.method === "GET") {
          res.writeHead(200, { "content-type": "application/octet-stream" });
          let index = 0;
          const chunks = [...chunksOf(payload, 256 * 1024)];
          const pump = (): void => {
            while (index < chunks.length) {
              if (!res.write(chunks[index++])) {
                res.once("drain", pump);
                return;
              }
            }
            res.end();
          };
          pump();
          return;
        }
        res.writeHead(200, { "content-type": "application/octet-stream" });
        req.pipe(res);
      }),
    );
    const { port } = await startProxy([backend.address]);

    const upload = await request({ port, method: "POST", path: "/echo", body: chunksOf(payload, 64 * 1024) });
    expect(upload.status).toBe(200);
    expect(upload.body.length).toBe(payload.length);
    expect(sha256(upload.body)).toBe(sha256(payload));

    const download = await request({ port, path: "/download" });
    expect(download.body.length).toBe(payload.length);
    expect(sha256(download.body)).toBe(sha256(payload));
  });

  it("adds forwarding headers, drops hop-by-hop ones and keeps the client's Host", async () => {
    const echo = await track(startEchoServer());
    const { port } = await startProxy([echo.address]);
    const response = await request({
      port,
      headers: [
        "Host",
        "example.test:8080",
        "Connection",
        "keep-alive, X-Remove-Me",
        "X-Remove-Me",
        "secret",
        "Keep-Alive",
        "timeout=5",
        "Proxy-Authorization",
        "Basic Zm9vOmJhcg==",
        "TE",
        "trailers",
        "X-Forwarded-For",
        "10.0.0.1",
        "X-Forwarded-Proto",
        "https",
        "Forwarded",
        "for=10.0.0.1",
        "X-Custom",
        "kept",
      ],
    });
    const seen = (JSON.parse(response.text) as EchoReply).headers;
    expect(seen.host).toBe("example.test:8080");
    expect(seen["x-custom"]).toBe("kept");
    expect(seen["x-forwarded-for"]).toBe("10.0.0.1, 127.0.0.1");
    expect(seen["x-forwarded-proto"]).toBe("http");
    expect(seen["x-forwarded-host"]).toBe("example.test:8080");
    expect(seen.forwarded).toBe('for=10.0.0.1, for=127.0.0.1;proto=http;host="example.test:8080"');
    for (const name of ["x-remove-me", "keep-alive", "proxy-authorization", "te", "upgrade", "trailer"]) {
      expect(seen[name], name).toBeUndefined();
    }
  });

  it("keeps repeated response headers, drops hop-by-hop ones and relays trailers", async () => {
    const backend = await track(
      startServer((req, res) => {
        if (req.url === "/trailers") {
          res.writeHead(200, { "content-type": "text/plain", trailer: "x-checksum" });
          res.write("abc");
          res.addTrailers({ "x-checksum": "c0ffee" });
          res.end("def");
          return;
        }
        res.writeHead(201, "Made It", [
          "Set-Cookie",
          "a=1; Path=/",
          "Set-Cookie",
          "b=2; Path=/",
          "Connection",
          "keep-alive, X-Hop",
          "X-Hop",
          "1",
          "Keep-Alive",
          "timeout=5",
          "Proxy-Authenticate",
          "Basic",
          "Content-Length",
          "2",
        ]);
        res.end("ok");
      }),
    );
    const { port } = await startProxy([backend.address]);

    const response = await request({ port });
    expect(response.status).toBe(201);
    expect(response.text).toBe("ok");
    expect(response.headers["set-cookie"]).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    expect(response.headers["x-hop"]).toBeUndefined();
    expect(response.headers["proxy-authenticate"]).toBeUndefined();
    expect(response.headers["keep-alive"]).not.toBe("timeout=5");

    const withTrailers = await request({ port, path: "/trailers" });
    expect(withTrailers.text).toBe("abcdef");
    expect(withTrailers.trailers["x-checksum"]).toBe("c0ffee");
  });

  it("passes a chunked request's trailers to the backend, also with the body replayed on a retry", async () => {
    const seen: { name: string; body: string; trailers: Record<string, string | undefined> }[] = [];
    const backend = (name: string, status: number) =>
      track(
        startServer((req, res) => {
          let body = "";
          req.setEncoding("latin1");
          req.on("data", (chunk: string) => {
            body += chunk;
          });
          req.on("end", () => {
            seen.push({ name, body, trailers: { ...req.trailers } });
            res.writeHead(status, { "content-length": "2" });
            res.end("ok");
          });
        }),
      );
    // Round-robin starts on the first: its 503 is retried, with the whole kept body, on the second.
    const failing = await backend("failing", 503);
    const healthy = await backend("healthy", 200);
    const { port } = await startProxy([failing.address, healthy.address], {
      retryOn: { statuses: [503] },
    });
    const raw = await rawRequest(
      port,
      "PUT /upload HTTP/1.1\r\nHost: proxy.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
        "5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: c0ffee\r\nX-Parts: 2\r\n\r\n",
    );
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    const trailers = { "x-checksum": "c0ffee", "x-parts": "2" };
    expect(seen).toEqual([
      { name: "failing", body: "hello world", trailers },
      { name: "healthy", body: "hello world", trailers },
    ]);
  });

  it("spreads requests round-robin over three backends", async () => {
    const backends = await Promise.all(["a", "b", "c"].map((name) => track(startEchoServer(name))));
    const { port } = await startProxy(backends.map((backend) => backend.address));
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) seen.push(String((await request({ port })).headers["x-backend"]));
    expect(seen).toEqual(["a", "b", "c", "a", "b", "c"]);
  });

  it("reuses upstream connections (keep-alive)", async () => {
    const connections = new Set<net.Socket>();
    const backend = await track(
      startServer((req, res) => {
        connections.add(req.socket);
        res.end("ok");
      }),
    );
    const { port } = await startProxy([backend.address]);
    for (let i = 0; i < 5; i++) expect((await request({ port })).status).toBe(200);
    expect(connections.size).toBe(1);
  });

  it("closes an upstream connection idle for timeouts.upstreamIdleMs (default 60 s)", async () => {
    const closed: number[] = [];
    const backend = await track(
      startServer((req, res) => {
        req.socket.once("close", () => closed.push(performance.now()));
        res.end("ok");
      }),
    );
    const byDefault = await startProxy([backend.address]);
    expect(byDefault.proxy.timeouts.upstreamIdleMs).toBe(60_000);
    const { port } = await startProxy([backend.address], { timeouts: { upstreamIdleMs: 200 } });
    expect((await request({ port: byDefault.port })).status).toBe(200);
    expect((await request({ port })).status).toBe(200);
    const idleFrom = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Only the short-lived one closed, after its 200 ms.
    expect(closed).toHaveLength(1);
    expect((closed[0] as number) - idleFrom).toBeGreaterThanOrEqual(150);
    expect(() => new HttpProxy({ balancer: byDefault.balancer, timeouts: { upstreamIdleMs: 0 } })).toThrow(
      /upstreamIdleMs/,
    );
  });

  it("relays the backend's status line: its own reason phrase, or the standard one", async () => {
    const backend = await track(
      startServer((req, res) => {
        if (req.url === "/fine") res.writeHead(200, "Fine Thanks");
        else if (req.url === "/odd") res.writeHead(599, "Odd Status");
        else res.writeHead(404);
        res.end();
      }),
    );
    const { port } = await startProxy([backend.address]);
    const statusLine = async (path: string) =>
      (await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)).split(
        "\r\n",
      )[0];
    expect(await statusLine("/fine")).toBe("HTTP/1.1 200 Fine Thanks");
    expect(await statusLine("/missing")).toBe("HTTP/1.1 404 Not Found");
    expect(await statusLine("/missing")).toBe("HTTP/1.1 404 Not Found");
    expect(await statusLine("/odd")).toBe("HTTP/1.1 599 Odd Status");
  });
});

describe("HttpProxy listening sockets", () => {
  it("accepts on acceptSockets sockets sharing the port (default 8) where SO_REUSEPORT is available", async () => {
    const echo = await track(startEchoServer("a"));
    const wanted = (count: number) => (reusePortAvailable() ? count : 1);
    const byDefault = await startProxy([echo.address]);
    expect(listeningSocketsOn(byDefault.port) ?? wanted(8)).toBe(wanted(8));
    const single = await startProxy([echo.address], { acceptSockets: 1 });
    expect(listeningSocketsOn(single.port) ?? 1).toBe(1);
    // Many connections at once, whichever socket accepted each, all answered.
    const replies = await Promise.all(Array.from({ length: 40 }, () => request({ port: byDefault.port })));
    expect(replies.map((reply) => reply.status)).toEqual(Array(40).fill(200));
    await byDefault.proxy.close(200);
    expect(listeningSocketsOn(byDefault.port) ?? 0).toBe(0);
  });

  it("refuses an acceptSockets outside 1..64", () => {
    const balancer = createBalancer({ backends: [{ address: "127.0.0.1:9" }] });
    expect(() => new HttpProxy({ balancer, acceptSockets: 0 })).toThrow(/acceptSockets/);
  });
});

describe("HttpProxy failover", () => {
  it("moves an idempotent request to the next candidate when a backend is down", async () => {
    const dead = await closedPort();
    const live = await track(startEchoServer("live"));
    const { port, balancer } = await startProxy([`${LOCALHOST}:${dead}`, live.address]);
    const response = await request({ port });
    expect(response.status).toBe(200);
    expect(response.headers["x-backend"]).toBe("live");
    const [down] = balancer.pool.backends;
    expect(down?.errors).toBe(1);
    expect(balancer.stats().failovers).toBe(1);
  });

  it("sends a request again on another connection when the backend closed the kept-alive one (the keep-alive race)", async () => {
    // Each connection answers its first request and keeps alive, then closes on its second without
    // answering, as a backend closing an idle connection just as a request reaches it.
    const perConnection: number[] = [];
    const backend = net.createServer((socket) => {
      const index = perConnection.push(0) - 1;
      socket.on("error", () => {});
      let pending = "";
      socket.on("data", (chunk: Buffer) => {
        pending += chunk.toString("latin1");
        while (pending.includes("\r\n\r\n")) {
          pending = pending.slice(pending.indexOf("\r\n\r\n") + 4);
          perConnection[index] = (perConnection[index] ?? 0) + 1;
          if (perConnection[index] === 1) socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
          else socket.destroy();
        }
      });
    });
    await new Promise<void>((resolve) => backend.listen(0, LOCALHOST, resolve));
    cleanups.push(() => new Promise((resolve) => backend.close(resolve)));
    const address = `${LOCALHOST}:${(backend.address() as net.AddressInfo).port}`;
    const { port, balancer } = await startProxy([address]);
    const [only] = balancer.pool.backends;
    const idleASecond = () => new Promise((resolve) => setTimeout(resolve, 1_100));

    expect((await request({ port })).status).toBe(200);
    // Sent on the kept-alive connection after it sat idle, which breaks: sent again on a new one, answered.
    await idleASecond();
    const again = await request({ port });
    expect(again.status).toBe(200);
    expect(again.text).toBe("ok");
    expect(perConnection).toEqual([2, 1]);
    expect(only?.errors).toBe(0);
    expect(balancer.stats().failovers).toBe(0);

    // A POST could not be sent again: it never goes out on a connection idle that long, but on a new one.
    await idleASecond();
    const post = await request({ port, method: "POST", body: "payload" });
    expect(post.status).toBe(200);
    expect(perConnection).toEqual([2, 1, 1]);

    // Reused at once (no idle time for a keep-alive close) and broken: a failing backend, blamed.
    const atOnce = await request({ port });
    expect(atOnce.status).toBe(502);
    expect(perConnection).toEqual([2, 1, 2]);
    expect(only?.errors).toBe(1);

    // With no new connection allowed, the POST takes the idle one; it breaks and is not sent again
    // (it may have had an effect): 502, not held against the backend.
    const limited = await startProxy([address], { maxConnections: 1 });
    expect((await request({ port: limited.port })).status).toBe(200);
    await idleASecond();
    const limitedPost = await request({ port: limited.port, method: "POST", body: "payload" });
    expect(limitedPost.status).toBe(502);
    expect(limitedPost.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_RESET");
    expect(perConnection).toEqual([2, 1, 2, 2]);
    expect(limited.balancer.pool.backends[0]?.errors).toBe(0);
  });

  it("retries a POST only when it never reached the backend", async () => {
    const dead = await closedPort();
    const live = await track(startEchoServer("live"));
    const refused = await startProxy([`${LOCALHOST}:${dead}`, live.address]);
    const retried = await request({ port: refused.port, method: "POST", body: "payload" });
    expect(retried.status).toBe(200);
    expect(JSON.parse(retried.text)).toMatchObject({ name: "live", body: "payload" });

    // A backend that accepts the request and then resets: the POST may have had an effect, so no retry.
    const resetter = await track(startServer((req) => req.socket.destroy()));
    const other = await track(startEchoServer("other"));
    const reset = await startProxy([resetter.address, other.address]);
    const post = await request({ port: reset.port, method: "POST", body: "payload" });
    expect(post.status).toBe(502);
    expect(post.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_RESET");
    expect(JSON.parse(post.text)).toMatchObject({ error: "SY_ERR_UPSTREAM_RESET" });
    expect(other.requests).toBe(0);

    // The same reset on a GET is retried on the next candidate.
    const get = await request({ port: reset.port });
    expect(get.status).toBe(200);
    expect(get.headers["x-backend"]).toBe("other");
  });

  it("answers 502 with SY_ERR_UPSTREAM_CONNECT when every backend is down", async () => {
    const ports = await Promise.all([closedPort(), closedPort(), closedPort()]);
    const { port, balancer } = await startProxy(ports.map((p) => `${LOCALHOST}:${p}`));
    const response = await request({ port });
    expect(response.status).toBe(502);
    expect(response.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_CONNECT");
    expect(response.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(response.text)).toMatchObject({ error: "SY_ERR_UPSTREAM_CONNECT" });
    expect(balancer.stats().errors).toBe(3);
    for (const backend of balancer.pool.backends) expect(backend.inFlight).toBe(0);
  });

  it("stops after maxRetries extra attempts", async () => {
    const ports = await Promise.all([closedPort(), closedPort(), closedPort(), closedPort()]);
    const { port, balancer } = await startProxy(
      ports.map((p) => `${LOCALHOST}:${p}`),
      { maxRetries: 1 },
    );
    expect((await request({ port })).status).toBe(502);
    expect(balancer.stats().requests).toBe(2);
  });

  it("answers 503 with SY_ERR_NO_BACKEND when no backend is ready", async () => {
    const echo = await track(startEchoServer());
    const { port, balancer } = await startProxy([echo.address]);
    for (const backend of balancer.pool.backends) balancer.pool.disable(backend.id);
    const response = await request({ port });
    expect(response.status).toBe(503);
    expect(response.headers["x-switchyard-error"]).toBe("SY_ERR_NO_BACKEND");
    expect(echo.requests).toBe(0);
  });

  it("answers 500 with SY_ERR_INTERNAL and logs an error when selection throws unexpectedly", async () => {
    const echo = await track(startEchoServer());
    const { logger, entries } = capturingLogger();
    const { port, balancer } = await startProxy([echo.address], { logger });
    const select = vi.spyOn(balancer, "select").mockImplementation(() => {
      throw new Error("selector exploded");
    });

    const response = await request({ port, path: "/boom" });
    expect(response.status).toBe(500);
    expect(response.headers["x-switchyard-error"]).toBe("SY_ERR_INTERNAL");
    expect(response.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(response.text)).toMatchObject({ error: "SY_ERR_INTERNAL" });
    expect(response.text).not.toContain("selector exploded");
    const logged = entries.find((entry) => entry.msg === "backend selection failed");
    expect(logged).toMatchObject({ level: 50, code: "SY_ERR_INTERNAL", url: "/boom" });
    expect((logged?.err as { message?: string } | undefined)?.message).toBe("selector exploded");

    // A coded error other than NO_BACKEND is just as unexpected here.
    select.mockImplementation(() => {
      throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, "bad selector options");
    });
    const coded = await request({ port });
    expect(coded.status).toBe(500);
    expect(coded.headers["x-switchyard-error"]).toBe("SY_ERR_INTERNAL");

    // Only SY_ERR_NO_BACKEND means 503.
    select.mockImplementation(() => {
      throw new SwitchyardError(ErrorCodes.NO_BACKEND, "no ready backend in the pool");
    });
    const none = await request({ port });
    expect(none.status).toBe(503);
    expect(none.headers["x-switchyard-error"]).toBe("SY_ERR_NO_BACKEND");
    expect(echo.requests).toBe(0);

    select.mockRestore();
    expect((await request({ port })).status).toBe(200);
  });

  it("answers 504 with SY_ERR_UPSTREAM_TIMEOUT when response headers are late", async () => {
    const silent = await track(startServer(() => {}));
    const { port, balancer } = await startProxy([silent.address], { timeouts: { headersMs: 200 } });
    const started = Date.now();
    const response = await request({ port });
    expect(response.status).toBe(504);
    expect(response.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_TIMEOUT");
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(silent.requests).toBe(1);
    expect(balancer.pool.backends[0]?.inFlight).toBe(0);
  });
});

describe("HttpProxy robustness", () => {
  it("survives a client that leaves mid-response and aborts the upstream request", async () => {
    let upstreamClosed = false;
    const backend = await track(
      startServer((req, res) => {
        if (req.url === "/quick") {
          res.end("quick");
          return;
        }
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write(Buffer.alloc(64 * 1024, 1));
        const timer = setInterval(() => res.write(Buffer.alloc(1024, 2)), 20);
        res.on("close", () => {
          clearInterval(timer);
          upstreamClosed = true;
        });
      }),
    );
    const { port, balancer } = await startProxy([backend.address]);

    await new Promise<void>((resolve, reject) => {
      const req = http.get({ host: LOCALHOST, port, path: "/stream", agent: false }, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", (error) => {
        if (!req.destroyed) reject(error);
      });
    });
    await waitFor(() => upstreamClosed);
    await waitFor(() => balancer.pool.backends[0]?.inFlight === 0);
    const after = await request({ port, path: "/quick" });
    expect(after.text).toBe("quick");
  });

  it("survives a client that leaves mid-upload", async () => {
    let backendSawAbort = false;
    const backend = await track(
      startServer((req, res) => {
        if (req.method === "GET") {
          res.end("fine");
          return;
        }
        req.on("data", () => {});
        req.on("close", () => {
          if (!req.complete) backendSawAbort = true;
        });
      }),
    );
    const { port, balancer } = await startProxy([backend.address]);
    const socket = net.connect({ host: LOCALHOST, port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 1000000\r\n\r\n");
    socket.write(Buffer.alloc(64 * 1024, 3));
    await waitFor(() => backend.requests === 1);
    socket.destroy();
    await waitFor(() => backendSawAbort);
    await waitFor(() => balancer.pool.backends[0]?.inFlight === 0);
    expect((await request({ port })).text).toBe("fine");
  });

  it("cuts the client connection when the backend resets mid-body", async () => {
    const backend = await track(
      startServer((req, res) => {
        if (req.url === "/ok") {
          res.end("ok");
          return;
        }
        res.writeHead(200, { "content-length": "100000" });
        res.write(Buffer.alloc(1000, 1), () => setTimeout(() => req.socket.destroy(), 20));
      }),
    );
    const { port } = await startProxy([backend.address]);
    const outcome = await new Promise<{ status: number; complete: boolean; bytes: number }>((resolve) => {
      const req = http.get({ host: LOCALHOST, port, path: "/", agent: false }, (res) => {
        let bytes = 0;
        res.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
        res.on("error", () => {});
        res.on("close", () => resolve({ status: res.statusCode ?? 0, complete: res.complete, bytes }));
      });
      req.on("error", () => {});
    });
    expect(outcome.status).toBe(200);
    expect(outcome.complete).toBe(false);
    expect(outcome.bytes).toBeLessThan(100000);
    expect((await request({ port, path: "/ok" })).text).toBe("ok");
  });

  it("answers a malformed request with 400 and SY_ERR_BAD_REQUEST", async () => {
    const echo = await track(startEchoServer());
    const { port } = await startProxy([echo.address]);
    const garbage = await rawRequest(port, "THIS IS NOT HTTP\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(garbage).toContain("x-switchyard-error: SY_ERR_BAD_REQUEST");

    // Content-Length together with Transfer-Encoding is refused (request smuggling).
    const smuggle = await rawRequest(
      port,
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    expect(smuggle).toMatch(/^HTTP\/1\.1 400 /);

    const noHost = await rawRequest(port, "GET / HTTP/1.1\r\n\r\n");
    expect(noHost).toMatch(/^HTTP\/1\.1 400 /);
    expect(noHost).toContain("x-switchyard-error: SY_ERR_BAD_REQUEST");

    const twoHosts = await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    expect(twoHosts).toMatch(/^HTTP\/1\.1 400 /);
    expect(echo.requests).toBe(0);

    // The listener keeps serving.
    expect((await request({ port })).status).toBe(200);
  });

  it("answers oversized headers with 431 and SY_ERR_HEADERS_TOO_LARGE", async () => {
    const echo = await track(startEchoServer());
    const { port } = await startProxy([echo.address], { maxHeaderSize: 8192 });
    const response = await rawRequest(
      port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(10_000)}\r\n\r\n`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
    expect(response).toContain("x-switchyard-error: SY_ERR_HEADERS_TOO_LARGE");
    expect(echo.requests).toBe(0);
    expect((await request({ port })).status).toBe(200);
  });

  it("answers oversized chunk extensions with 413 and SY_ERR_PAYLOAD_TOO_LARGE", async () => {
    const echo = await track(startEchoServer());
    const { port } = await startProxy([echo.address]);
    const response = await rawRequest(
      port,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        `1;ext=${"a".repeat(20_000)}\r\nx\r\n0\r\n\r\n`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 413 /);
    expect(response).toContain("x-switchyard-error: SY_ERR_PAYLOAD_TOO_LARGE");
    expect((await request({ port })).status).toBe(200);
  });

  it("answers a request head that is not received in time with 408 and SY_ERR_CLIENT_TIMEOUT", async () => {
    const echo = await track(startEchoServer());
    const { port } = await startProxy([echo.address], { timeouts: { requestHeadMs: 200 } });

    const response = await rawRequest(port, "GET / HTTP/1.1\r\nHost: x\r\n");
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    expect(response).toContain("x-switchyard-error: SY_ERR_CLIENT_TIMEOUT");
    expect(response.toLowerCase()).toContain("connection: close");
    expect(echo.requests).toBe(0);
  });
});

/** A raw client connection whose received bytes accumulate in `text()`. */
async function rawClient(port: number): Promise<{ socket: net.Socket; text: () => string }> {
  const socket = net.connect({ host: LOCALHOST, port });
  await new Promise((resolve) => socket.once("connect", resolve));
  cleanups.push(async () => {
    socket.destroy();
  });
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  return { socket, text: () => Buffer.concat(chunks).toString("latin1") };
}

describe("HttpProxy client reads", () => {
  // Plain-HTTP client sockets all read into one buffer (shared-reads.ts): a
  // partial head, or body bytes waiting for a backend connection still being
  // opened, must survive other clients' reads landing in that buffer.
  it("keeps a partial head and unsent body bytes while other clients' reads arrive", async () => {
    const echo = await track(
      startServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () => {
          const body = `${req.url} ${Buffer.concat(chunks).toString("latin1")}`;
          // Slow answers keep the first upstream connection busy, so the next request opens another.
          setTimeout(() => res.end(body), req.url === "/slow" ? 300 : 0);
        });
      }),
    );
    const { port } = await startProxy([echo.address]);
    const [slow, a, b] = await Promise.all([rawClient(port), rawClient(port), rawClient(port)]);
    const noise = `POST /noise HTTP/1.1\r\nHost: n.test\r\nContent-Length: 600\r\n\r\n${"#".repeat(600)}`;

    slow.socket.write("GET /slow HTTP/1.1\r\nHost: s.test\r\n\r\n");
    await waitFor(() => echo.requests === 1);
    // A's head and the first half of its body; B's bytes land in the shared buffer right after,
    // while A's upstream connection is still being opened.
    a.socket.write("POST /a HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\nhello");
    b.socket.write(noise);
    await waitFor(() => b.text().includes("/noise"));
    // B's next request starts with a head that stays partial while A's last bytes arrive.
    b.socket.write("POST /b HTTP/1.1\r\nHost: b.te");
    await new Promise((resolve) => setTimeout(resolve, 50));
    a.socket.write("world");
    await new Promise((resolve) => setTimeout(resolve, 50));
    b.socket.write("st\r\nContent-Length: 3\r\n\r\nxyz");

    await waitFor(() => a.text().includes("/a ") && b.text().includes("/b "));
    expect(a.text()).toContain("/a helloworld");
    expect(b.text()).toContain(`/noise ${"#".repeat(600)}`);
    expect(b.text()).toContain("/b xyz");
    await waitFor(() => slow.text().includes("/slow "));
  });
});

describe("HttpProxy shutdown", () => {
  it("lets a slow in-flight request finish before closing", async () => {
    const slow = await track(
      startServer((_req, res) => {
        setTimeout(() => res.end("slow but done"), 300);
      }),
    );
    const { proxy, port } = await startProxy([slow.address]);
    const inFlight = request({ port });
    await waitFor(() => slow.requests === 1);

    let closed = false;
    const closing = proxy.close(5_000).then(() => {
      closed = true;
    });
    await expect(request({ port, timeoutMs: 1_000 })).rejects.toThrow();

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(response.text).toBe("slow but done");
    expect(response.headers.connection).toBe("close");
    await closing;
    expect(closed).toBe(true);
    expect(proxy.inFlight).toBe(0);
  });

  it("answers requests that arrive during shutdown with 503 SY_ERR_SHUTTING_DOWN", async () => {
    const slow = await track(
      startServer((_req, res) => {
        setTimeout(() => res.end("done"), 400);
      }),
    );
    const { proxy, port } = await startProxy([slow.address]);
    const inFlight = request({ port });
    await waitFor(() => slow.requests === 1);

    // A connection that started a request head before close() and finishes it after.
    const socket = net.connect({ host: LOCALHOST, port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    const socketClosed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write("GET /late HTTP/1.1\r\nHost: x\r\n");
    await new Promise((resolve) => setTimeout(resolve, 50));

    const closing = proxy.close(5_000);
    socket.write("\r\n");
    await socketClosed;
    const text = Buffer.concat(received).toString("latin1");
    expect(text).toMatch(/^HTTP\/1\.1 503 /);
    expect(text).toContain("x-switchyard-error: SY_ERR_SHUTTING_DOWN");
    expect(text.toLowerCase()).toContain("connection: close");
    expect(slow.requests).toBe(1);

    expect((await inFlight).status).toBe(200);
    await closing;
  });

  it("destroys what is left when the grace period ends", async () => {
    const silent = await track(startServer(() => {}));
    const { proxy, port } = await startProxy([silent.address]);
    const stuck = request({ port }).then(
      () => "answered",
      () => "cut",
    );
    await waitFor(() => silent.requests === 1);
    const started = Date.now();
    await proxy.close(100);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(await stuck).toBe("cut");
  });
});

/** A backend answering every request with `status` and a body of `size` bytes (read the request first). */
function startStatusServer(status: number, size = 16): Promise<TestServer> {
  return startServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(status, { "content-type": "text/plain", "content-length": size, "x-backend": "failing" });
      res.end(Buffer.alloc(size, 120));
    });
  });
}

describe("HttpProxy retries", () => {
  it("drops a retryOn status and retries an idempotent request on the next candidate", async () => {
    const failing = await track(startStatusServer(503));
    const live = await track(startEchoServer("live"));
    const { proxy, balancer, port } = await startProxy([failing.address, live.address], {
      retryOn: { statuses: [502, 503, 504] },
    });
    const response = await request({ port, path: "/r" });
    expect(response.status).toBe(200);
    expect(response.headers["x-backend"]).toBe("live");
    expect(failing.requests).toBe(1);
    const [failed] = balancer.pool.backends;
    expect(failed?.errors).toBe(1);
    expect(failed?.inFlight).toBe(0);
    expect(proxy.stats()).toMatchObject({ requests: 1, retries: 1, statusClasses: { "2xx": 1, "5xx": 0 } });

    // Another status than the listed ones is forwarded as it is.
    const teapot = await track(startStatusServer(500));
    const other = await startProxy([teapot.address, live.address], { retryOn: { statuses: [503] } });
    expect((await request({ port: other.port })).status).toBe(500);
    expect(other.proxy.stats().retries).toBe(0);
  });

  it("forwards the retryOn status as it is when no candidate is left, and never for a POST", async () => {
    const failing = await track(startStatusServer(503, 5));
    const { proxy, port } = await startProxy([failing.address], { retryOn: { statuses: [503] } });
    const response = await request({ port });
    expect(response.status).toBe(503);
    expect(response.headers["x-backend"]).toBe("failing");
    expect(response.headers["x-switchyard-error"]).toBeUndefined();
    expect(response.text).toBe("xxxxx");
    expect(proxy.stats()).toMatchObject({ retries: 0, statusClasses: { "5xx": 1 }, errors: {} });

    const live = await track(startEchoServer("live"));
    const two = await startProxy([failing.address, live.address], { retryOn: { statuses: [503] } });
    const post = await request({ port: two.port, method: "POST", body: "once" });
    expect(post.status).toBe(503);
    expect(live.requests).toBe(0);
  });

  it("cuts a large dropped response instead of reading it, and still retries", async () => {
    const failing = await track(startStatusServer(502, 512 * 1024));
    const live = await track(startEchoServer("live"));
    const { proxy, balancer, port } = await startProxy([failing.address, live.address], {
      retryOn: { statuses: [502] },
    });
    for (let i = 0; i < 4; i++) {
      const response = await request({ port });
      expect(response.status).toBe(200);
      expect(response.headers["x-backend"]).toBe("live");
    }
    expect(failing.requests).toBeGreaterThan(0);
    expect(proxy.stats().retries).toBe(failing.requests);
    await waitFor(() => balancer.pool.backends.every((backend) => backend.inFlight === 0));
  });

  it("resends a buffered request body after a reset, with and without Content-Length", async () => {
    const resetter = await track(
      startServer((req) => {
        req.resume();
        req.on("end", () => req.socket.destroy());
      }),
    );
    const live = await track(startEchoServer("live"));
    const { proxy, port } = await startProxy([resetter.address, live.address]);

    const sized = await request({ port, method: "PUT", path: "/doc", body: "sized body" });
    expect(sized.status).toBe(200);
    expect(JSON.parse(sized.text)).toMatchObject({ name: "live", method: "PUT", body: "sized body" });

    const chunks = [Buffer.from("chunk-1,"), Buffer.from("chunk-2,"), Buffer.from("chunk-3")];
    const chunked = await request({ port, method: "PUT", path: "/doc", body: chunks });
    expect(chunked.status).toBe(200);
    const reply = JSON.parse(chunked.text) as EchoReply;
    expect(reply.body).toBe("chunk-1,chunk-2,chunk-3");
    expect(resetter.requests).toBe(2);
    expect(proxy.stats().retries).toBe(2);
  });

  it("replays the kept part of a body that is still arriving, then streams the rest", async () => {
    // Resets as soon as the first bytes arrive, while the client is still uploading.
    const resetter = await track(startServer((req) => req.once("data", () => req.socket.destroy())));
    const live = await track(startEchoServer("live"));
    const { port } = await startProxy([resetter.address, live.address]);

    const socket = net.connect({ host: LOCALHOST, port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write("PUT /live HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n");
    socket.write("6\r\nfirst,\r\n");
    await waitFor(() => resetter.requests === 1);
    await waitFor(() => live.requests === 1);
    socket.write("6\r\nsecond\r\n0\r\n\r\n");
    await closed;
    const text = Buffer.concat(received).toString("utf8");
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(JSON.parse(text.slice(text.indexOf("{"))).body).toBe("first,second");
  });

  it("does not retry a body larger than retryBufferBytes once it was sent", async () => {
    const resetter = await track(
      startServer((req) => {
        req.resume();
        req.on("end", () => req.socket.destroy());
      }),
    );
    const live = await track(startEchoServer("live"));
    // A fresh listener per case, so round-robin always starts on the resetter.
    const send = async (retryBufferBytes: number, body: TestRequestOptions["body"]) => {
      const { port } = await startProxy([resetter.address, live.address], { retryBufferBytes });
      return request({ port, method: "PUT", body });
    };

    const sized = await send(1024, Buffer.alloc(4096, 97));
    expect(sized.status).toBe(502);
    expect(sized.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_RESET");
    // Chunked: the copy is dropped once the body outgrows the buffer.
    expect((await send(1024, chunksOf(Buffer.alloc(4096, 98), 512))).status).toBe(502);
    expect(live.requests).toBe(0);
    // With no buffer at all, nothing that started sending is retried.
    expect((await send(0, "small")).status).toBe(502);
    expect(live.requests).toBe(0);

    // A small body fits and is retried.
    expect((await send(1024, "small")).status).toBe(200);
    expect(resetter.requests).toBe(4);
  });

  it("does not resend a buffered body the client cut off", async () => {
    const seen: string[] = [];
    const first = await track(
      startServer((req) => {
        req.on("data", (chunk: Buffer) => seen.push(chunk.toString()));
        req.on("error", () => {});
      }),
    );
    const second = await track(startEchoServer("second"));
    const { balancer, port } = await startProxy([first.address, second.address]);
    const socket = net.connect({ host: LOCALHOST, port });
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial");
    await waitFor(() => seen.join("") === "partial");
    socket.destroy();
    await waitFor(() => balancer.pool.backends.every((backend) => backend.inFlight === 0));
    expect(second.requests).toBe(0);
    expect(balancer.pool.backends[0]?.errors).toBe(0);
    expect((await request({ port })).status).toBe(200);
  });

  it("stops retrying when the retry budget is spent and counts it", async () => {
    const dead = await closedPort();
    const live = await track(startEchoServer("live"));
    const { proxy, port } = await startProxy([`${LOCALHOST}:${dead}`, live.address], {
      // A reserve of exactly one retry per 10 s window, nothing from the ratio.
      retryBudget: { ratio: 0, minRetriesPerSecond: 0.1 },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await request({ port })).status);
    // Round-robin (the failover pick moves its cursor too): dead → live, dead (budget spent), live.
    expect(statuses).toEqual([200, 502, 200]);
    expect(proxy.stats()).toMatchObject({
      requests: 3,
      retries: 1,
      retryBudgetExhausted: 1,
      statusClasses: { "2xx": 2, "5xx": 1 },
      errors: { SY_ERR_UPSTREAM_CONNECT: 1 },
    });

    const unlimited = await startProxy([`${LOCALHOST}:${dead}`, live.address], { retryBudget: false });
    for (let i = 0; i < 6; i++) expect((await request({ port: unlimited.port })).status).toBe(200);
    const attemptsOnDead = unlimited.balancer.pool.backends[0]?.requests;
    expect(attemptsOnDead).toBeGreaterThan(1);
    expect(unlimited.proxy.stats()).toMatchObject({ retries: attemptsOnDead, retryBudgetExhausted: 0 });
  });

  it("reports requests, status classes and coded errors in stats()", async () => {
    const backend = await track(
      startServer((req, res) => {
        const status = Number(req.url?.slice(1)) || 200;
        res.writeHead(status, { "content-length": 0 });
        res.end();
      }),
    );
    const { proxy, balancer, port } = await startProxy([backend.address]);
    for (const path of ["/200", "/204", "/301", "/404", "/500"]) await request({ port, path });
    await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    balancer.pool.disable(balancer.pool.backends[0]?.id as string);
    await request({ port });
    expect(proxy.stats()).toEqual({
      requests: 7,
      http2Requests: 0,
      http2RapidResetCloses: 0,
      retries: 0,
      retryBudgetExhausted: 0,
      hedges: 0,
      hedgeWins: 0,
      hedgeTimers: 0,
      inFlight: 0,
      statusClasses: { "2xx": 2, "3xx": 1, "4xx": 2, "5xx": 2 },
      errors: { SY_ERR_BAD_REQUEST: 1, SY_ERR_NO_BACKEND: 1 },
      // The kept-alive connection that carried the forwarded requests waits for the next one.
      backends: [
        {
          id: backend.address,
          queued: 0,
          openConnections: 1,
          idleConnections: 1,
          requestBytes: expect.any(Number),
          responseBytes: expect.any(Number),
        },
      ],
      // The request with two Host headers was refused before any route saw it.
      routes: [{ name: "default", match: "", requests: 6, rateLimited: 0 }],
    });
  });

  it("never sends a request to a backend marked unhealthy", async () => {
    const sick = await track(startEchoServer("sick"));
    const well = await track(startEchoServer("well"));
    const { balancer, port } = await startProxy([sick.address, well.address]);
    expect((await request({ port })).headers["x-backend"]).toBe("sick");
    balancer.pool.setState(balancer.pool.backends[0]?.id as string, "unhealthy");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    cleanups.push(async () => agent.destroy());
    const responses = await Promise.all(Array.from({ length: 40 }, () => request({ port, agent })));
    expect(responses.every((response) => response.headers["x-backend"] === "well")).toBe(true);
    expect(sick.requests).toBe(1);
  });

  it("closes kept-alive upstream connections of a removed backend", async () => {
    const sockets = new Set<net.Socket>();
    const backend = await track(
      startServer((req, res) => {
        sockets.add(req.socket);
        res.end("ok");
      }),
    );
    const other = await track(startEchoServer("other"));
    const { proxy, balancer, port } = await startProxy([backend.address, other.address]);
    await request({ port });
    const [socket] = sockets;
    expect(socket?.destroyed).toBe(false);
    expect(proxy.upstreamsFor(balancer)?.has(backend.origin)).toBe(true);
    await balancer.pool.remove(balancer.pool.backends[0]?.id as string, { drain: true });
    expect(proxy.upstreamsFor(balancer)?.has(backend.origin)).toBe(false);
    await waitFor(() => socket?.destroyed === true);
    for (let i = 0; i < 3; i++) expect((await request({ port })).headers["x-backend"]).toBe("other");
  });

  it("rejects invalid retry options with SY_ERR_INVALID_OPTIONS", () => {
    const balancer = createBalancer({ backends: [{ address: `${LOCALHOST}:1` }] });
    const invalid: Partial<HttpProxyOptions>[] = [
      { retryOn: { statuses: [200] } },
      { retryOn: { statuses: [503.5] } },
      { retryBufferBytes: -1 },
      { retryBufferBytes: 1.5 },
      { retryBudget: { ratio: -0.1 } },
      { drainTimeoutMs: 0 },
      { drainTimeoutMs: 2 ** 31 },
    ];
    for (const options of invalid) {
      expect(() => new HttpProxy({ balancer, ...options }), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: "SY_ERR_INVALID_OPTIONS" }),
      );
    }
  });
});
