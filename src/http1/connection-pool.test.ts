/**
 * The pool's timeouts, swept by one timer instead of a socket timer per
 * connection: each phase (connect, response head, body gaps, keep-alive
 * idleness) times out with the same codes as before, bytes moving either way
 * keep a phase alive, a request's shorter headers timeout makes the pool sweep
 * often enough for it, and the sweeper runs only while a connection is open
 * and never keeps the process alive; body bytes handed out stay intact after
 * later reads. Real sockets on 127.0.0.1.
 */
import http from "node:http";
import net from "node:net";
import { performance } from "node:perf_hooks";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { useCleanups } from "../../test/helpers/fixtures.js";
import { ConnectionPool, type ConnectionPoolOptions } from "./connection-pool.js";
import { keepAliveHintMs } from "./upstream-connection.js";
import { UpstreamError, UpstreamErrorCodes, type UpstreamRequest } from "./upstream-handler.js";

const HOST = "127.0.0.1";

const cleanups = useCleanups();
afterEach(() => {
  vi.restoreAllMocks();
});

/** Long timeouts but the ones a test sets: only those can fire. */
function pool(port: number, options: Partial<ConnectionPoolOptions>): ConnectionPool {
  const created = new ConnectionPool(HOST, port, {
    connectTimeoutMs: 5_000,
    headersTimeoutMs: 30_000,
    bodyTimeoutMs: 60_000,
    idleTimeoutMs: 4_000,
    maxRequests: 0,
    maxConnections: 0,
    queueTimeoutMs: 5_000,
    ...options,
  });
  cleanups.push(() => created.destroy());
  return created;
}

interface Outcome {
  status: number | undefined;
  body: string;
  error: UpstreamError | undefined;
  /** From dispatch to the end (complete or error), in ms. */
  elapsedMs: number;
}

function send(target: ConnectionPool, request: Partial<UpstreamRequest> = {}): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const outcome: Outcome = { status: undefined, body: "", error: undefined, elapsedMs: 0 };
    const end = (): void => {
      outcome.elapsedMs = performance.now() - started;
      resolve(outcome);
    };
    target.dispatch(
      { method: "GET", path: "/", headers: [], body: null, ...request },
      {
        onConnect: () => {},
        onHeaders: (status) => {
          outcome.status = status;
          return true;
        },
        onData: (chunk) => {
          outcome.body += chunk.toString("latin1");
          return true;
        },
        onComplete: end,
        onError: (error) => {
          outcome.error = error as UpstreamError;
          end();
        },
      },
    );
  });
}

/** A raw TCP backend: `onSocket` decides what it says; every socket is destroyed at cleanup. */
async function rawBackend(onSocket: (socket: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  cleanups.push(() => {
    for (const socket of sockets) socket.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

/** A node:http backend; its connections are dropped at cleanup. */
async function httpBackend(handler: http.RequestListener): Promise<number> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

/** A raw backend answering every request with `Keep-Alive: <keepAlive>`; counts its connections. */
async function hintingBackend(keepAlive: string): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const port = await rawBackend((socket) => {
    connections++;
    socket.on("data", () =>
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: ${keepAlive}\r\n\r\nok`),
    );
  });
  return { port, connections: () => connections };
}

async function waitUntil(condition: () => boolean, limitMs = 5_000): Promise<void> {
  const deadline = performance.now() + limitMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface WatchedIntervals {
  started: { handle: NodeJS.Timeout; periodMs: number }[];
  cleared: Set<unknown>;
}

/** The intervals started from now on, and which of them were cleared. */
function watchIntervals(): WatchedIntervals {
  const started: WatchedIntervals["started"] = [];
  const cleared = new Set<unknown>();
  const setInterval = globalThis.setInterval;
  const clearInterval = globalThis.clearInterval;
  vi.spyOn(globalThis, "setInterval").mockImplementation(((callback: () => void, periodMs: number) => {
    const handle = setInterval(callback, periodMs);
    started.push({ handle, periodMs });
    return handle;
  }) as typeof globalThis.setInterval);
  vi.spyOn(globalThis, "clearInterval").mockImplementation((handle) => {
    cleared.add(handle);
    clearInterval(handle);
  });
  return { started, cleared };
}

describe("ConnectionPool timeouts", () => {
  it("fails with HEADERS_TIMEOUT when the backend stays silent", async () => {
    const port = await rawBackend((socket) => socket.resume());
    const outcome = await send(pool(port, { headersTimeoutMs: 150 }));
    expect(outcome.error).toBeInstanceOf(UpstreamError);
    expect(outcome.error?.code).toBe(UpstreamErrorCodes.HEADERS_TIMEOUT);
    expect(outcome.error?.message).toBe("the backend did not answer in time");
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(150);
    expect(outcome.elapsedMs).toBeLessThan(2_000);
  });

  it("does not time out an upload that flows steadily for longer than the headers timeout", async () => {
    const port = await httpBackend((req, res) => {
      let bytes = 0;
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      req.on("end", () => res.end(String(bytes)));
    });
    const body = new PassThrough();
    let sent = 0;
    const drip = setInterval(() => {
      body.write(Buffer.alloc(100));
      if (++sent === 28) {
        clearInterval(drip);
        body.end();
      }
    }, 25);
    cleanups.push(() => clearInterval(drip));
    const outcome = await send(pool(port, { headersTimeoutMs: 200 }), { method: "POST", body });
    expect(outcome.error).toBeUndefined();
    expect(outcome.status).toBe(200);
    expect(outcome.body).toBe("2800");
    expect(outcome.elapsedMs).toBeGreaterThan(400);
  });

  it("fails with BODY_TIMEOUT when the response body stalls, not while it drips", async () => {
    const port = await rawBackend((socket) => {
      socket.on("data", (request) => {
        const stall = request.toString("latin1").startsWith("GET /stall ");
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello");
        if (stall) return;
        let left = 5;
        const drip = setInterval(() => {
          socket.write("!");
          if (--left === 0) clearInterval(drip);
        }, 60);
        socket.on("close", () => clearInterval(drip));
      });
    });
    const target = pool(port, { bodyTimeoutMs: 150 });
    const dripped = await send(target, { path: "/drip" });
    expect(dripped.error).toBeUndefined();
    expect(dripped.body).toBe("hello!!!!!");
    expect(dripped.elapsedMs).toBeGreaterThan(250);

    const stalled = await send(target, { path: "/stall" });
    expect(stalled.status).toBe(200);
    expect(stalled.body).toBe("hello");
    expect(stalled.error?.code).toBe(UpstreamErrorCodes.BODY_TIMEOUT);
    expect(stalled.error?.message).toBe("the backend's response stalled");
  });

  it("does not time out a response paused for a slow client: the wait is the client's", async () => {
    const port = await rawBackend((socket) => {
      socket.on("data", () => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello");
        setTimeout(() => socket.write("world"), 50);
      });
    });
    const target = pool(port, { bodyTimeoutMs: 150 });
    const outcome = await new Promise<{ body: string; error: Error | undefined }>((resolve) => {
      let body = "";
      let resume: () => void = () => {};
      target.dispatch(
        { method: "GET", path: "/", headers: [], body: null },
        {
          onConnect: () => {},
          onHeaders: (_status, _headers, resumeReading) => {
            resume = resumeReading;
            return true;
          },
          onData: (chunk) => {
            body += chunk.toString("latin1");
            // The first bytes fill the client: reading pauses for well over bodyTimeoutMs.
            if (body === "hello") setTimeout(resume, 450);
            return body !== "hello";
          },
          onComplete: () => resolve({ body, error: undefined }),
          onError: (error) => resolve({ body, error }),
        },
      );
    });
    expect(outcome.error).toBeUndefined();
    expect(outcome.body).toBe("helloworld");
  });

  it("fails with CONNECT_TIMEOUT when the TLS handshake never ends", async () => {
    const port = await rawBackend((socket) => socket.resume());
    const outcome = await send(
      pool(port, { connectTimeoutMs: 150, tls: { host: HOST, port, rejectUnauthorized: false } }),
    );
    expect(outcome.error?.code).toBe(UpstreamErrorCodes.CONNECT_TIMEOUT);
    expect(outcome.error?.message).toBe("connecting to the backend timed out");
    expect(outcome.elapsedMs).toBeGreaterThanOrEqual(150);
    expect(outcome.elapsedMs).toBeLessThan(2_000);
  });

  it("closes a pooled connection left idle for idleTimeoutMs", async () => {
    let backendSawClose = false;
    const port = await httpBackend((_req, res) => {
      res.socket?.once("close", () => {
        backendSawClose = true;
      });
      res.end("ok");
    });
    const target = pool(port, { idleTimeoutMs: 150 });
    const outcome = await send(target);
    expect(outcome.body).toBe("ok");
    expect(target.idle).toBe(1);
    const idleFrom = performance.now();
    await waitUntil(() => target.open === 0);
    expect(performance.now() - idleFrom).toBeGreaterThanOrEqual(140);
    await waitUntil(() => backendSawClose);
  });

  it("keeps a connection idle no longer than the backend's Keep-Alive timeout less a second", async () => {
    const backend = await hintingBackend("timeout=2, max=100");
    const target = pool(backend.port, { idleTimeoutMs: 4_000 });
    expect((await send(target)).body).toBe("ok");
    const idleFrom = performance.now();
    await waitUntil(() => target.open === 0);
    const idledMs = performance.now() - idleFrom;
    expect(idledMs).toBeGreaterThanOrEqual(900);
    expect(idledMs).toBeLessThan(2_500);
  });

  it("does not reuse a connection its backend keeps a second or less, nor keep one past the pool's own timeout", async () => {
    const brief = await hintingBackend("timeout=1");
    const target = pool(brief.port, {});
    expect((await send(target)).body).toBe("ok");
    expect(target.idle).toBe(0);
    expect((await send(target)).body).toBe("ok");
    expect(brief.connections()).toBe(2);

    // A longer hint does not lengthen the pool's idle timeout.
    const long = await hintingBackend("timeout=60");
    const short = pool(long.port, { idleTimeoutMs: 150 });
    expect((await send(short)).body).toBe("ok");
    const idleFrom = performance.now();
    await waitUntil(() => short.open === 0);
    expect(performance.now() - idleFrom).toBeLessThan(1_000);
  });

  it("sweeps often enough for a request's headers timeout shorter than the pool's, then slows down again", async () => {
    const port = await httpBackend((req, res) => {
      if (req.url !== "/silent") res.end("ok");
    });
    // The pool's shortest timeout is idleTimeoutMs, 4 s: it sweeps every second.
    const target = pool(port, {});
    const intervals = watchIntervals();
    const [hurried, fast] = await Promise.all([
      send(target, { path: "/silent", headersTimeoutMs: 200 }),
      send(target, { path: "/fast" }),
    ]);
    expect(fast.body).toBe("ok");
    expect(hurried.error?.code).toBe(UpstreamErrorCodes.HEADERS_TIMEOUT);
    expect(hurried.elapsedMs).toBeGreaterThanOrEqual(200);
    // Swept every second, it would have fired after one at the soonest.
    expect(hurried.elapsedMs).toBeLessThan(800);
    expect(intervals.started.map((interval) => interval.periodMs)).toEqual([1_000, 50]);
    // The fast request's connection stays, idle: no one needs a 50 ms sweep any more.
    await waitUntil(() => intervals.started.length === 3);
    expect(intervals.started[2]?.periodMs).toBe(1_000);
    expect(intervals.cleared.has(intervals.started[1]?.handle)).toBe(true);
    expect(target.open).toBe(1);
  });

  it("sweeps only while a connection is open, and never keeps the process alive", async () => {
    const port = await httpBackend((_req, res) => res.end("ok"));
    const target = pool(port, { idleTimeoutMs: 150 });
    const intervals = watchIntervals();
    expect((await send(target)).body).toBe("ok");
    expect(intervals.started).toHaveLength(1);
    const first = intervals.started[0]?.handle as NodeJS.Timeout;
    expect(first.hasRef()).toBe(false);
    // The idle connection closes: nothing left to sweep.
    await waitUntil(() => target.open === 0);
    expect(intervals.cleared.has(first)).toBe(true);

    expect((await send(target)).body).toBe("ok");
    expect(intervals.started).toHaveLength(2);
    const second = intervals.started[1]?.handle as NodeJS.Timeout;
    expect(intervals.cleared.has(second)).toBe(false);
    await target.close();
    expect(target.open).toBe(0);
    expect(intervals.cleared.has(second)).toBe(true);
    expect(intervals.started).toHaveLength(2);
  });
});

describe("ConnectionPool reuse", () => {
  it("puts a request that cannot be sent again on a new connection rather than one idle a second", async () => {
    const backend = await hintingBackend("timeout=60");
    const connections = backend.connections;
    const target = pool(backend.port, {});
    expect((await send(target)).body).toBe("ok");
    // Idle briefly: reused, whatever the request.
    expect((await send(target, { method: "POST", resendable: false })).body).toBe("ok");
    expect(connections()).toBe(1);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await send(target, { method: "POST", resendable: false })).body).toBe("ok");
    expect(connections()).toBe(2);
    expect(target.idle).toBe(2);
    // A request that can be sent again still takes a connection idle that long.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await send(target)).body).toBe("ok");
    expect(connections()).toBe(2);

    // With no room for a new connection, the idle one it is.
    const limited = pool(backend.port, { maxConnections: 1 });
    expect((await send(limited)).body).toBe("ok");
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await send(limited, { method: "POST", resendable: false })).body).toBe("ok");
    expect(connections()).toBe(3);
  });
});

describe("ConnectionPool reads", () => {
  /** Dispatches a GET and keeps every body chunk as the Buffer it was handed, to read after the end. */
  function keepChunks(target: ConnectionPool): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      target.dispatch(
        { method: "GET", path: "/", headers: [], body: null },
        {
          onConnect: () => {},
          onHeaders: () => true,
          onData: (chunk) => {
            chunks.push(chunk);
            return true;
          },
          onComplete: () => resolve(chunks),
          onError: reject,
        },
      );
    });
  }

  /** Answers with `body` (one repeated byte) in `pieces` writes, chunked or with a length, its head split in two. */
  function streamingBackend(fill: string, pieces: number, chunked: boolean): Promise<number> {
    return rawBackend((socket) => {
      socket.once("data", async () => {
        const piece = fill.repeat(1000);
        socket.write("HTTP/1.1 200 OK\r\n");
        await new Promise((resolve) => setTimeout(resolve, 20));
        socket.write(
          chunked ? "transfer-encoding: chunked\r\n\r\n" : `content-length: ${piece.length * pieces}\r\n\r\n`,
        );
        for (let i = 0; i < pieces; i++) {
          socket.write(chunked ? `${piece.length.toString(16)}\r\n${piece}\r\n` : piece);
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (chunked) socket.write("0\r\n\r\n");
      });
    });
  }

  it("gathers response heads that trickle in, past a 1xx, while other connections' reads share the buffer", async () => {
    /** Sends a 103 and the start of the 200 in one write, then the rest of the head 7 bytes at a time. */
    const trickling = (fill: string): Promise<number> =>
      rawBackend((socket) => {
        socket.once("data", async () => {
          const head = `HTTP/1.1 200 OK\r\nx-long: ${fill.repeat(3000)}\r\ncontent-length: 2\r\n\r\nok`;
          socket.write(`HTTP/1.1 103 Early Hints\r\nlink: </a.css>\r\n\r\n${head.slice(0, 20)}`);
          for (let at = 20; at < head.length; at += 7) {
            await new Promise((resolve) => setImmediate(resolve));
            socket.write(head.slice(at, at + 7));
          }
        });
      });
    const headerOf = (port: number): Promise<string> =>
      new Promise((resolve, reject) => {
        pool(port, {}).dispatch(
          { method: "GET", path: "/", headers: [], body: null },
          {
            onConnect: () => {},
            onHeaders: (_status, headers) => {
              resolve(headers[headers.indexOf("x-long") + 1] as string);
              return true;
            },
            onData: () => true,
            onComplete: () => {},
            onError: reject,
          },
        );
      });
    const [a, b] = await Promise.all([trickling("a"), trickling("b")]);
    const [fromA, fromB] = await Promise.all([headerOf(a), headerOf(b)]);
    expect(fromA).toBe("a".repeat(3000));
    expect(fromB).toBe("b".repeat(3000));
  });

  it("hands out body bytes that outlive the read they came in: connections share one read buffer", async () => {
    const [a, b] = await Promise.all([streamingBackend("a", 50, true), streamingBackend("b", 50, false)]);
    const [fromA, fromB] = await Promise.all([keepChunks(pool(a, {})), keepChunks(pool(b, {}))]);
    // Both responses arrived in many reads, interleaved; each kept chunk must still hold its own bytes.
    expect(fromA.length).toBeGreaterThan(1);
    expect(fromB.length).toBeGreaterThan(1);
    expect(Buffer.concat(fromA).toString("latin1")).toBe("a".repeat(50_000));
    expect(Buffer.concat(fromB).toString("latin1")).toBe("b".repeat(50_000));
  });
});

describe("keepAliveHintMs", () => {
  it("reads timeout=N from a Keep-Alive field, less a second", () => {
    expect(keepAliveHintMs(["Keep-Alive", "timeout=5"])).toBe(4_000);
    expect(keepAliveHintMs(["content-length", "2", "keep-alive", "max=100, TIMEOUT=20"])).toBe(19_000);
    expect(keepAliveHintMs(["Keep-Alive", 'timeout="3"'])).toBe(2_000);
    expect(keepAliveHintMs(["Keep-Alive", "timeout=1"])).toBe(0);
    expect(keepAliveHintMs(["Keep-Alive", "max=100"])).toBeUndefined();
    expect(keepAliveHintMs(["Keep-Alive", "mytimeout=5"])).toBeUndefined();
    expect(keepAliveHintMs(["connection", "keep-alive"])).toBeUndefined();
  });
});
