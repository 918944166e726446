/**
 * HTTP/2 backends (`backendProtocol: h2`) with a node:http2 server behind
 * the proxy and HTTP/1.1 clients in front: the head's translation (Host to
 * :authority, `te: trailers`), bodies both ways, the backend's stream limit
 * (more sessions, or a queue at maxConnections), what a refused or reset
 * stream means for the request, and a backend that never speaks HTTP/2.
 */
import http2 from "node:http2";
import net, { type AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createBalancer } from "../src/balancer/balancer.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { useCleanups } from "./helpers/fixtures.js";
import { h2request } from "./helpers/http2-client.js";
import { LOCALHOST, request } from "./helpers/servers.js";

const cleanups = useCleanups();

interface H2Backend {
  address: string;
  /** Sessions the backend accepted. */
  sessions: number;
  /** Most streams open at once. */
  peak: number;
}

/** An h2c backend answering each stream with `answer`, limited to `maxStreams` at once. */
async function startH2Backend(
  answer: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
  maxStreams = 100,
): Promise<H2Backend> {
  const server = http2.createServer({ settings: { maxConcurrentStreams: maxStreams } });
  const backend = { address: "", sessions: 0, peak: 0 };
  let open = 0;
  server.on("session", (session) => {
    backend.sessions++;
    cleanups.push(async () => session.destroy());
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    open++;
    backend.peak = Math.max(backend.peak, open);
    stream.on("close", () => open--);
    answer(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  backend.address = `http://${LOCALHOST}:${(server.address() as AddressInfo).port}`;
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return backend;
}

async function startProxy(
  backends: readonly H2Backend[],
  options: Partial<HttpProxyOptions> = {},
): Promise<number> {
  const balancer = createBalancer({
    backends: backends.map((backend) => ({ address: backend.address })),
    backendProtocol: "h2",
    circuitBreaker: false,
    outlierDetection: false,
  });
  const proxy = new HttpProxy({ balancer, ...options });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return port;
}

/** Reads the request body, then answers with what it saw. */
function echo(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => {
    stream.respond({ ":status": 201, "content-type": "application/json" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "x-checksum": "ok" }));
    stream.end(JSON.stringify({ headers, body: Buffer.concat(chunks).toString() }));
  });
}

describe("HTTP/2 backends", () => {
  it("turns an HTTP/1.1 request into an HTTP/2 stream and relays the response with its trailers", async () => {
    const port = await startProxy([await startH2Backend(echo)]);
    const body = [Buffer.from("first "), Buffer.from("second")];
    const response = await request({
      port,
      method: "POST",
      path: "/upload?x=1",
      headers: { host: "api.test", "x-custom": "yes", te: "trailers" },
      body,
    });
    expect(response.status).toBe(201);
    expect(response.trailers).toMatchObject({ "x-checksum": "ok" });
    const seen = JSON.parse(response.text) as { headers: http2.IncomingHttpHeaders; body: string };
    expect(seen.body).toBe("first second");
    expect(seen.headers).toMatchObject({
      ":method": "POST",
      ":path": "/upload?x=1",
      ":scheme": "http",
      ":authority": "api.test",
      "x-custom": "yes",
      te: "trailers",
    });
    expect(seen.headers.host).toBeUndefined();
    expect(seen.headers.connection).toBeUndefined();
  });

  it("forwards an HTTP/2 client's request trailers on the backend's stream, also with a replayed body", async () => {
    let calls = 0;
    const answer = (stream: http2.ServerHttp2Stream): void => {
      calls++;
      // The first attempt is reset before any answer; a GET goes to the other backend, with its kept body.
      if (calls === 1) {
        stream.destroy(new Error("backend failure"));
        return;
      }
      const chunks: Buffer[] = [];
      let trailers: http2.IncomingHttpHeaders = {};
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("trailers", (received) => {
        trailers = received;
      });
      stream.on("end", () => {
        stream.respond({ ":status": 200 });
        stream.end(JSON.stringify({ body: Buffer.concat(chunks).toString(), trailers }));
      });
    };
    const port = await startProxy([await startH2Backend(answer), await startH2Backend(answer)], {
      h2c: true,
    });
    const session = http2.connect(`http://${LOCALHOST}:${port}`);
    session.on("error", () => {});
    cleanups.push(async () => session.destroy());
    const trailers = { "x-checksum": "sha256=abc" };
    const reply = await h2request(session, { ":method": "GET", ":path": "/signed" }, "payload", trailers);
    expect(calls).toBe(2);
    expect(JSON.parse(reply.body.toString())).toEqual({ body: "payload", trailers });
  });

  it("opens another session when the backend's stream limit is reached", async () => {
    const held: http2.ServerHttp2Stream[] = [];
    const backend = await startH2Backend((stream) => {
      held.push(stream);
      if (held.length === 6) for (const each of held) each.respond({ ":status": 200 }, { endStream: true });
    }, 2);
    const port = await startProxy([backend]);
    const responses = await Promise.all(Array.from({ length: 6 }, () => request({ port })));
    expect(responses.map((response) => response.status)).toEqual(Array(6).fill(200));
    expect(backend.sessions).toBe(3);
  });

  it("queues streams beyond the limit on maxConnections sessions", async () => {
    const backend = await startH2Backend((stream) => {
      setTimeout(() => stream.respond({ ":status": 200 }, { endStream: true }), 20);
    }, 2);
    const port = await startProxy([backend], { maxConnections: 1 });
    const responses = await Promise.all(Array.from({ length: 8 }, () => request({ port })));
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(backend.sessions).toBe(1);
    expect(backend.peak).toBe(2);
  });

  it("sends a POST whose stream was refused to the next backend", async () => {
    const refusing = await startH2Backend((stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    const serving = await startH2Backend(echo);
    const port = await startProxy([refusing, serving]);
    const responses = await Promise.all(
      Array.from({ length: 4 }, () => request({ port, method: "POST", body: "payload" })),
    );
    expect(responses.map((response) => response.status)).toEqual(Array(4).fill(201));
  });

  it("times out connecting to a backend that takes the connection but never sends its SETTINGS", async () => {
    const silent = net.createServer(() => {});
    const sockets = new Set<net.Socket>();
    silent.on("connection", (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, LOCALHOST, resolve));
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => silent.close(resolve));
    });
    const backend = {
      address: `http://${LOCALHOST}:${(silent.address() as AddressInfo).port}`,
      sessions: 0,
      peak: 0,
    };
    const port = await startProxy([backend], { timeouts: { connectMs: 300, headersMs: 30_000 } });
    const started = performance.now();
    const response = await request({ port });
    expect(response.status).toBe(504);
    expect(response.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_TIMEOUT");
    // The connect timeout, not the 30 s headers timeout.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(sockets.size).toBeGreaterThan(0);
  });

  it("answers 502 for a POST reset after the backend read it, and cuts a response reset midway", async () => {
    const backend = await startH2Backend((stream, headers) => {
      if (headers[":path"] === "/midway") {
        stream.respond({ ":status": 200 });
        stream.write("partial");
        // destroy() resets at once; close() would end the stream cleanly first.
        setTimeout(() => stream.destroy(new Error("backend failure")), 20);
      } else stream.destroy(new Error("backend failure"));
    });
    const port = await startProxy([backend]);
    const reset = await request({ port, method: "POST", body: "payload" });
    expect(reset.status).toBe(502);
    expect(reset.headers["x-switchyard-error"]).toBe("SY_ERR_UPSTREAM_RESET");
    await expect(request({ port, path: "/midway" })).rejects.toThrow();
  });
});
