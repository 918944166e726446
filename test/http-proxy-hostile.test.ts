/**
 * The HTTP proxy against hostile clients and impatient backends, on real
 * sockets: the failures found when the node:http + undici data plane was
 * tried this way, kept as regressions. Early answers (413/403/200 before the
 * body was read) reach the client unchanged and never count against the
 * backend; header floods are refused instead of truncated; pipelined
 * requests never fan out into many upstream connections; malformed or
 * unsupported request lines get a coded answer; `maxConnections` queues
 * requests and times them out with SY_ERR_QUEUE_TIMEOUT. Client connections
 * answer `100-continue`, close lingering after a refusal, time out when idle
 * or when an upload stalls,
 * treat a half-close as the client leaving and frame bodies for HTTP/1.0.
 */
import http from "node:http";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { type Balancer, createBalancer } from "../src/balancer/balancer.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { useCleanups } from "./helpers/fixtures.js";
import { LOCALHOST, rawRequest, startServer, type TestServer, waitFor } from "./helpers/servers.js";

const cleanups = useCleanups();

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

/** Closes `server` after the test. */
async function track(server: Promise<TestServer>): Promise<TestServer> {
  const started = await server;
  cleanups.push(() => started.close());
  return started;
}

/** A raw TCP backend: `onConnection` gets each socket; tracks how many are open at once. */
async function startRawBackend(
  onConnection: (socket: net.Socket) => void,
): Promise<{ address: string; maxOpen: () => number; heads: string[] }> {
  let open = 0;
  let maxOpen = 0;
  const heads: string[] = [];
  const server = net.createServer((socket) => {
    open++;
    maxOpen = Math.max(maxOpen, open);
    socket.on("close", () => open--);
    socket.on("error", () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.emit("close-all");
      }),
  );
  const sockets = new Set<net.Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("close-all", () => {
    for (const socket of sockets) socket.destroy();
  });
  return {
    address: `${LOCALHOST}:${(server.address() as net.AddressInfo).port}`,
    maxOpen: () => maxOpen,
    heads,
  };
}

/** Sends a POST with `size` bytes of body; resolves with the status, body and how long it took. */
function upload(port: number, size: number): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: LOCALHOST, port, method: "POST", path: "/upload", headers: { "content-length": size } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on("error", reject);
    req.setTimeout(20_000, () => req.destroy(new Error("upload timed out")));
    const piece = Buffer.alloc(64 * 1024, 97);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(piece.length, size - sent);
        sent += n;
        if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) {
          req.once("drain", pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe("early answers from the backend", () => {
  /** Answers on the first bytes of the body and closes without reading the rest (a reset). */
  async function answerAndReset(status: number): Promise<string> {
    const backend = await startRawBackend((socket) => {
      socket.once("data", () => {
        const body = `refused ${status}`;
        socket.write(
          `HTTP/1.1 ${status} No\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
        );
        socket.destroy();
      });
    });
    return backend.address;
  }

  /** Answers before reading the body and keeps the connection: node:http drains the rest. */
  async function answerAndKeepAlive(status: number): Promise<string> {
    const backend = await startServer((_req, res) => {
      res.writeHead(status);
      res.end(`refused ${status}`);
    });
    cleanups.push(() => backend.close());
    return backend.address;
  }

  for (const [status, close] of [
    [413, true],
    [403, true],
    [413, false],
  ] as const) {
    it(`relays a ${status} sent before the body was read (${close ? "then a reset" : "keep-alive"}) and does not blame the backend`, async () => {
      const address = close ? await answerAndReset(status) : await answerAndKeepAlive(status);
      const { balancer, port } = await startProxy([address]);
      for (let i = 0; i < 12; i++) {
        const answer = await upload(port, 2 * 1024 * 1024);
        expect(answer.status).toBe(status);
        expect(answer.body).toBe(`refused ${status}`);
      }
      const stats = balancer.stats();
      expect(stats.errors).toBe(0);
      expect(stats.backends[0]?.state).toBe("healthy");
    });
  }

  it("does not stall an upload the backend answered 200 to and then reads slowly", async () => {
    const backend = await startServer((req, res) => {
      res.end("early");
      req.pause();
      setTimeout(() => req.resume(), 3_000).unref();
    });
    cleanups.push(() => backend.close());
    const { port } = await startProxy([backend.address]);
    const answer = await upload(port, 8 * 1024 * 1024);
    expect(answer.status).toBe(200);
    expect(answer.body).toBe("early");
    // A stalled upload waited for a reset about a minute later; 2 s leaves room for a loaded machine.
    expect(answer.ms).toBeLessThan(2_000);
  });
});

describe("request heads a proxy must refuse", () => {
  let backend: TestServer;

  async function proxyToCountingBackend(): Promise<number> {
    backend = await startServer((_req, res) => res.end("ok"));
    cleanups.push(() => backend.close());
    return (await startProxy([backend.address])).port;
  }

  it("answers 431 to a flood of header lines instead of dropping the ones past node's count", async () => {
    const port = await proxyToCountingBackend();
    const filler = Array.from({ length: 1_100 }, (_, i) => `x-filler-${i}: a\r\n`).join("");
    const answer = await rawRequest(
      port,
      `POST / HTTP/1.1\r\nHost: a\r\n${filler.slice(0, 15_000)}Content-Length: 5\r\n\r\nhello`,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain("x-switchyard-error: SY_ERR_HEADERS_TOO_LARGE");
    expect(backend.requests).toBe(0);
  });

  it("answers 400 to an absolute-form target whose authority differs from Host", async () => {
    const port = await proxyToCountingBackend();
    const answer = await rawRequest(port, "GET http://other.example/x HTTP/1.1\r\nHost: a\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(backend.requests).toBe(0);
  });

  it("forwards an absolute-form target that agrees with Host in origin form", async () => {
    let seen = "";
    backend = await startServer((req, res) => {
      seen = req.url ?? "";
      res.end("ok");
    });
    cleanups.push(() => backend.close());
    const { port } = await startProxy([backend.address]);
    const answer = await rawRequest(
      port,
      "GET http://a.example/x?y=1 HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(seen).toBe("/x?y=1");
  });

  it("answers 400 to an HTTP/0.9 request line", async () => {
    const port = await proxyToCountingBackend();
    const answer = await rawRequest(port, "GET /\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(backend.requests).toBe(0);
  });

  it("answers 400 once a request line that can never be valid ends, not when the head does", async () => {
    const port = await proxyToCountingBackend();
    for (const line of [
      "PROXY TCP4 203.0.113.9 198.51.100.1 40000 443\r\n",
      "\x16\x03\x01 junk\r\nHost: a\r\n",
    ]) {
      const startedAt = Date.now();
      // No head end follows: before, the answer waited for timeouts.requestHeadMs (60 s).
      const answer = await rawRequest(port, line, 3_000);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(Date.now() - startedAt).toBeLessThan(2_000);
    }
    expect(backend.requests).toBe(0);
  });

  it("answers 400 to a chunked body broken in the bytes that came with its head, before the backend sees the head", async () => {
    const port = await proxyToCountingBackend();
    // A kept-alive upstream connection, so a head would reach the backend at once.
    expect(await rawRequest(port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")).toMatch(/ 200 /);
    const answer = await rawRequest(
      port,
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(backend.requests).toBe(1);
  });

  it("answers 414 to a 1 MB request target", async () => {
    const port = await proxyToCountingBackend();
    const answer = await rawRequest(port, `GET /${"a".repeat(1_000_000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 414 /);
    expect(answer).toContain("SY_ERR_URI_TOO_LONG");
  });

  it("answers 414 to a target over 8 KiB that fits in the head", async () => {
    const port = await proxyToCountingBackend();
    const answer = await rawRequest(port, `GET /${"a".repeat(9_000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 414 /);
    expect(backend.requests).toBe(0);
  });

  it("answers 405 with a coded body to CONNECT", async () => {
    const port = await proxyToCountingBackend();
    const answer = await rawRequest(port, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 405 /);
    expect(answer).toContain('"error":"SY_ERR_METHOD_NOT_ALLOWED"');
  });
});

describe("upstream connections", () => {
  it("proxies pipelined requests one at a time over a single upstream connection, answers in order", async () => {
    const backend = await startRawBackend((socket) => {
      let pending = "";
      let queue = Promise.resolve();
      socket.on("data", (chunk: Buffer) => {
        pending += chunk.toString("latin1");
        for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
          const path = pending.slice(0, end).split(" ")[1] as string;
          pending = pending.slice(end + 4);
          queue = queue.then(
            () =>
              new Promise<void>((resolve) =>
                setTimeout(() => {
                  socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${path.length}\r\n\r\n${path}`);
                  resolve();
                }, 2),
              ),
          );
        }
      });
    });
    const { port } = await startProxy([backend.address]);
    const count = 100;
    const requests = Array.from({ length: count }, (_, i) => `GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`).join(
      "",
    );
    const answers = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: LOCALHOST, port }, () => socket.write(requests));
      let text = "";
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
        if ((text.match(/HTTP\/1\.1 200/g) ?? []).length === count && text.endsWith(`/${count - 1}`)) {
          socket.destroy();
          resolve(text);
        }
      });
      socket.on("error", reject);
      setTimeout(() => reject(new Error("pipelined answers did not arrive")), 15_000).unref();
    });
    const bodies = answers.split(/HTTP\/1\.1 200 OK\r\n/).slice(1);
    expect(bodies.map((part) => part.slice(part.indexOf("\r\n\r\n") + 4))).toEqual(
      Array.from({ length: count }, (_, i) => `/${i}`),
    );
    expect(backend.maxOpen()).toBe(1);
  });

  it("stops taking pipelined requests while the client reads nothing, and loses none once it reads", async () => {
    const size = 32 * 1024;
    let served = 0;
    const backend = await track(
      startServer((req, res) => {
        served++;
        res.setHeader("content-length", size);
        res.end(Buffer.alloc(size, req.url?.slice(1) === "last" ? 0x7a : 0x61));
      }),
    );
    const { port } = await startProxy([backend.address]);
    const count = 1_000;
    const requests = Array.from({ length: count }, (_, i) =>
      i === count - 1 ? "GET /last HTTP/1.1\r\nHost: a\r\n\r\n" : `GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`,
    ).join("");
    const socket = net.connect({ host: LOCALHOST, port });
    socket.on("error", () => undefined);
    socket.pause();
    socket.write(requests);
    // Unread, 1,000 answers of 32 KiB would pile up 32 MiB in the proxy; held, the socket buffers bound them.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const servedWhileUnread = served;
    expect(servedWhileUnread).toBeGreaterThan(0);
    // About 4 MiB of them fit in the kernel's buffers here (122 answers).
    expect(servedWhileUnread).toBeLessThan(count / 2);
    let received = 0;
    let tail = "";
    await new Promise<void>((resolve, reject) => {
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        tail = (tail + chunk.toString("latin1")).slice(-size);
        if (tail === "z".repeat(size)) resolve();
      });
      socket.on("close", () => reject(new Error(`closed after ${received} bytes`)));
      socket.resume();
    });
    socket.destroy();
    expect(served).toBe(count);
    const head = "HTTP/1.1 200 OK\r\n".length;
    expect(received).toBeGreaterThan(count * (size + head));
  });

  it("keeps at most maxConnections open to a backend and queues the rest", async () => {
    let open = 0;
    let maxOpen = 0;
    const backend = await startServer((_req, res) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      setTimeout(() => {
        open--;
        res.end("ok");
      }, 50);
    });
    cleanups.push(() => backend.close());
    const { proxy, port } = await startProxy([backend.address], { maxConnections: 1 });
    const statuses = await Promise.all(
      Array.from({ length: 4 }, () => upload(port, 10).then((answer) => answer.status)),
    );
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(maxOpen).toBe(1);
    expect(proxy.stats().backends[0]?.openConnections).toBeLessThanOrEqual(1);
  });

  it("answers 503 SY_ERR_QUEUE_TIMEOUT when no connection frees up within queueTimeoutMs", async () => {
    const backend = await startServer((_req, res) => {
      setTimeout(() => res.end("slow"), 400);
    });
    cleanups.push(() => backend.close());
    const { port } = await startProxy([backend.address], {
      maxConnections: 1,
      queueTimeoutMs: 50,
      maxRetries: 0,
    });
    const answers = await Promise.all([
      rawRequest(port, "GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
      new Promise<string>((resolve) => setTimeout(resolve, 20)).then(() =>
        rawRequest(port, "GET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
      ),
    ]);
    expect(answers[0]).toMatch(/^HTTP\/1\.1 200 /);
    expect(answers[1]).toMatch(/^HTTP\/1\.1 503 /);
    expect(answers[1]).toContain("x-switchyard-error: SY_ERR_QUEUE_TIMEOUT");
  });
});

describe("client connections", () => {
  it("answers Expect: 100-continue before the body is sent, then proxies the upload", async () => {
    const backend = await track(
      startServer((req, res) => {
        let size = 0;
        req.on("data", (chunk: Buffer) => {
          size += chunk.length;
        });
        req.on("end", () => res.end(`got ${size}`));
      }),
    );
    const { port } = await startProxy([backend.address]);
    const answer = await new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
      let continued = false;
      const req = http.request(
        {
          host: LOCALHOST,
          port,
          method: "POST",
          path: "/",
          headers: { expect: "100-continue", "content-length": 5 },
        },
        (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on("end", () => resolve({ continued, body }));
        },
      );
      req.on("continue", () => {
        continued = true;
        req.end("hello");
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(answer).toEqual({ continued: true, body: "got 5" });
  });

  it("closes lingering after refusing a request, so a client still sending reads the answer", async () => {
    const backend = await track(startServer((_req, res) => res.end("unused")));
    const { port } = await startProxy([backend.address]);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect({ host: LOCALHOST, port });
      let text = "";
      socket.on("connect", () => {
        // A broken chunk size, then more upload the proxy never asked for.
        socket.write("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n");
        const junk = Buffer.alloc(64 * 1024, 120);
        for (let i = 0; i < 16; i++) socket.write(junk);
      });
      socket.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
      });
      socket.on("error", (error) => (text === "" ? reject(error) : undefined));
      socket.on("close", () => resolve(text));
      setTimeout(() => socket.destroy(), 5_000).unref();
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain("x-switchyard-error: SY_ERR_BAD_REQUEST");
    expect(backend.requests).toBe(0);
  });

  it("proxies a request whose head and body arrive a byte at a time", async () => {
    const backend = await track(
      startServer((req, res) => {
        let body = "";
        req.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        req.on("end", () => res.end(`${req.headers["x-trickle"]} ${body}`));
      }),
    );
    const { port } = await startProxy([backend.address]);
    const socket = net.connect({ host: LOCALHOST, port });
    socket.setNoDelay(true);
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    const request = "POST /slow HTTP/1.1\r\nHost: a\r\nX-Trickle: yes\r\nContent-Length: 5\r\n\r\nhello";
    for (const byte of request) {
      socket.write(byte);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitFor(() => text.endsWith("yes hello"), 2_000);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    socket.destroy();
  });

  it("closes an idle keep-alive client connection after timeouts.idleMs", async () => {
    const backend = await track(startServer((_req, res) => res.end("ok")));
    const { port } = await startProxy([backend.address], { timeouts: { idleMs: 200 } });
    const socket = net.connect({ host: LOCALHOST, port });
    const started = performance.now();
    let text = "";
    socket.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
    });
    socket.write("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await new Promise((resolve) => socket.on("close", resolve));
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(text).not.toContain("connection: close");
    expect(performance.now() - started).toBeGreaterThanOrEqual(180);
  });

  it("answers 408 and closes when an upload stalls for timeouts.idleMs", async () => {
    let aborted = 0;
    const backend = await track(
      startServer((req, res) => {
        req.on("end", () => res.end("complete"));
        res.on("close", () => {
          if (!res.writableFinished) aborted++;
        });
        req.resume();
      }),
    );
    const { proxy, port } = await startProxy([backend.address], { timeouts: { idleMs: 200 } });
    const started = performance.now();
    const answer = await rawRequest(port, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toContain("x-switchyard-error: SY_ERR_CLIENT_TIMEOUT");
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    await waitFor(() => aborted === 1, 1_000);
    expect(proxy.stats().errors).toMatchObject({ SY_ERR_CLIENT_TIMEOUT: 1 });
  });

  it("holds a stalled upload against the client, not the backend, though headersMs is shorter", async () => {
    // A correct backend waits for the whole body before it answers. Were the backend's head clock
    // running while the body waits on the client, a few stalled clients would open its circuit.
    const backend = await track(
      startServer((req, res) => {
        req.on("end", () => res.end("complete"));
        req.resume();
      }),
    );
    const { proxy, balancer, port } = await startProxy([backend.address], {
      timeouts: { headersMs: 100, idleMs: 400 },
    });
    const stalled = [
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc",
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n",
    ];
    const answers = await Promise.all(stalled.map((request) => rawRequest(port, request)));
    for (const answer of answers) {
      expect(answer).toMatch(/^(HTTP\/1\.1 100 Continue\r\n\r\n)?HTTP\/1\.1 408 /);
      expect(answer).toContain("x-switchyard-error: SY_ERR_CLIENT_TIMEOUT");
    }
    expect(balancer.pool.backends[0]?.errors).toBe(0);
    expect(proxy.stats().errors).toEqual({ SY_ERR_CLIENT_TIMEOUT: 3 });
    // A backend that stops reading the body (its socket full) still times out on its own clock.
    const deaf = await startRawBackend(() => undefined);
    const second = await startProxy([deaf.address], { timeouts: { headersMs: 200, idleMs: 60_000 } });
    const big = Buffer.alloc(32 * 1024 * 1024, 0x61);
    const answer = await rawRequest(
      second.port,
      Buffer.concat([
        Buffer.from(`POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${big.length}\r\n\r\n`),
        big,
      ]),
    );
    expect(answer).toContain("x-switchyard-error: SY_ERR_UPSTREAM_TIMEOUT");
    expect(second.balancer.pool.backends[0]?.errors).toBe(1);
  });

  it("closes a client that stops reading its response for timeouts.idleMs, without blaming the backend", async () => {
    let aborted = 0;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const backend = await track(
      startServer((_req, res) => {
        // 64 MiB, written as fast as the proxy takes it: far more than the socket buffers hold.
        let left = 1024;
        const pump = () => {
          while (left > 0) {
            left--;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end();
        };
        res.on("close", () => {
          if (!res.writableFinished) aborted++;
        });
        pump();
      }),
    );
    const { proxy, balancer, port } = await startProxy([backend.address], { timeouts: { idleMs: 300 } });
    const socket = net.connect({ host: LOCALHOST, port });
    socket.on("error", () => undefined);
    socket.write("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    // Reads the head's first bytes, then nothing more.
    await new Promise((resolve) => socket.once("data", resolve));
    socket.pause();
    const started = performance.now();
    // The proxy gives up on the client, which cancels the backend's response.
    await waitFor(() => aborted === 1, 5_000);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    await waitFor(() => proxy.inFlight === 0, 1_000);
    // Reading again, the client finds its connection reset, far short of the 64 MiB.
    let received = 0;
    socket.on("data", (data: Buffer) => {
      received += data.length;
    });
    socket.resume();
    await new Promise((resolve) => socket.on("close", resolve));
    expect(received).toBeLessThan(64 * 1024 * 1024);
    expect(balancer.pool.backends[0]?.errors).toBe(0);
    expect(proxy.stats().errors).not.toHaveProperty("SY_ERR_UPSTREAM_TIMEOUT");
  });

  it("takes a client that shuts its side as gone and cancels its backend attempt", async () => {
    let cancelled = 0;
    const backend = await track(
      startServer((_req, res) => {
        const timer = setTimeout(() => res.end("late"), 2_000);
        res.on("close", () => {
          if (!res.writableFinished) cancelled++;
          clearTimeout(timer);
        });
      }),
    );
    const { proxy, port } = await startProxy([backend.address]);
    const socket = net.connect({ host: LOCALHOST, port });
    socket.on("error", () => undefined);
    socket.end("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    await waitFor(() => cancelled === 1, 1_500);
    await waitFor(() => proxy.inFlight === 0, 1_000);
  });

  it("sends an HTTP/1.0 client a body of unknown length until close, without chunked coding", async () => {
    const backend = await track(
      startServer((_req, res) => {
        res.write("abc");
        res.end("def");
      }),
    );
    const { port } = await startProxy([backend.address]);
    const answer = await rawRequest(port, "GET / HTTP/1.0\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).not.toContain("transfer-encoding");
    expect(answer.toLowerCase()).toContain("connection: close");
    expect(answer.endsWith("\r\n\r\nabcdef")).toBe(true);
  });
});
