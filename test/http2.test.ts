/**
 * HTTP/2 from clients on the HTTP listener, with real clients: curl and
 * h2load over TLS (ALPN h2) and with prior knowledge (h2c), and node:http2 sessions carrying
 * many streams at once, request bodies, trailers, routes by :authority, a
 * rapid-reset loop the proxy cuts off, and a graceful close. Backends stay
 * HTTP/1.1; certificates are made by openssl at test time.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import https from "node:https";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createBalancer } from "../src/balancer/balancer.js";
import { parseConfig } from "../src/config/load.js";
import { AccessLog } from "../src/observability/access-log.js";
import { HttpProxy, type HttpProxyOptions } from "../src/proxy/http-proxy.js";
import { TlsCertificates } from "../src/proxy/tls-certificates.js";
import { startSwitchyard } from "../src/runtime.js";
import { makeSelfSigned } from "./helpers/certificates.js";
import { parseExposition } from "./helpers/exposition.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import { type H2Response, h2request } from "./helpers/http2-client.js";
import {
  type EchoReply,
  LOCALHOST,
  request,
  startEchoServer,
  startServer,
  type TestServer,
  waitFor,
} from "./helpers/servers.js";
import { runTool } from "./helpers/tools.js";

const dir = useTempDirNow("switchyard-http2-");
const cleanups = useCleanups();

const site = makeSelfSigned(dir, "site", "localhost", ["localhost", "a.test", "api.test"]);
const ca = readFileSync(site.cert);

async function track(server: Promise<TestServer>): Promise<TestServer> {
  const started = await server;
  cleanups.push(() => started.close());
  return started;
}

/** A proxy to `backends` over TLS (unless `tls: false`), closed after the test. */
async function startProxy(
  backends: readonly TestServer[],
  options: Partial<HttpProxyOptions> & { plain?: boolean } = {},
): Promise<{ proxy: HttpProxy; port: number }> {
  const { plain, ...rest } = options;
  const balancer = createBalancer({ backends: backends.map((backend) => ({ address: backend.address })) });
  const tls = plain === true ? undefined : { certificates: await TlsCertificates.load([site]) };
  const proxy = new HttpProxy({ balancer, tls, ...rest });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return { proxy, port };
}

/** A node:http2 session to the proxy, closed after the test. */
function connect(port: number, plain = false): http2.ClientHttp2Session {
  const session = plain
    ? http2.connect(`http://${LOCALHOST}:${port}`)
    : http2.connect(`https://localhost:${port}`, { ca, host: LOCALHOST, servername: "localhost" });
  session.on("error", () => {});
  cleanups.push(async () => session.destroy());
  return session;
}

/** Runs curl asynchronously (the proxy answering it runs in this process) and gives its output and exit code. */
function curl(args: readonly string[]): Promise<{ code: number; stdout: string }> {
  return promisify(execFile)("curl", ["-sS", "--max-time", "10", ...args], { encoding: "utf8" }).then(
    ({ stdout }) => ({ code: 0, stdout }),
    (error: { code?: number; stdout?: string }) => ({ code: error.code ?? -1, stdout: error.stdout ?? "" }),
  );
}

describe("HTTP/2 from clients", () => {
  it("serves curl over TLS with ALPN h2 and HTTP/1.1 clients on the same port", async () => {
    const backend = await track(startEchoServer("curl-backend"));
    const { port } = await startProxy([backend]);
    const out = await curl([
      "--http2",
      "--cacert",
      site.cert,
      "--resolve",
      `localhost:${port}:${LOCALHOST}`,
      "-w",
      "\n%{http_version}",
      `https://localhost:${port}/hello?x=1`,
    ]);
    expect(out.code).toBe(0);
    const [body, version] = out.stdout.split("\n");
    expect(version).toBe("2");
    const reply = JSON.parse(body as string) as EchoReply;
    expect(reply).toMatchObject({ name: "curl-backend", method: "GET", url: "/hello?x=1" });
    expect(reply.headers.host).toBe(`localhost:${port}`);
    expect(reply.headers["x-forwarded-proto"]).toBe("https");

    // An HTTP/1.1 client on the same port goes through the HTTP/1.1 engine.
    const viaHttp1 = await new Promise<string>((resolve, reject) => {
      https
        .get({ host: LOCALHOST, port, servername: "localhost", ca, path: "/one", agent: false }, (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on("end", () => resolve(`${res.httpVersion} ${text}`));
        })
        .on("error", reject);
    });
    expect(viaHttp1).toMatch(/^1\.1 \{/);
    expect(viaHttp1).toContain('"url":"/one"');
  });

  it("serves h2load over TLS and over h2c: every request succeeds, spread over the pool", async () => {
    const backends = [await track(startEchoServer("h2load-a")), await track(startEchoServer("h2load-b"))];
    const secure = await startProxy(backends);
    const plain = await startProxy(backends, { plain: true, h2c: true });
    const runs = [`https://${LOCALHOST}:${secure.port}/load`, `http://${LOCALHOST}:${plain.port}/load`];
    for (const url of runs) {
      // 4 connections with up to 16 streams each, 1000 requests; h2load speaks h2 by ALPN or prior knowledge.
      const { code, stdout } = await runTool("/usr/bin/h2load", ["-n", "1000", "-c", "4", "-m", "16", url]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/Application protocol: h2c?\n/);
      expect(stdout).toMatch(
        /requests: 1000 total, 1000 started, 1000 done, 1000 succeeded, 0 failed, 0 errored/,
      );
      expect(stdout).toMatch(/status codes: 1000 2xx, 0 3xx, 0 4xx, 0 5xx/);
    }
    // Round-robin over two backends: each took half of the 2000.
    expect(backends.map((backend) => backend.requests)).toEqual([1000, 1000]);
  });

  it("applies the listener's rate limit to HTTP/2 streams: 429 with Retry-After past the burst", async () => {
    const backend = await track(startEchoServer("limited"));
    const { proxy, port } = await startProxy([backend], {
      rateLimit: { rate: 1, periodMs: 60_000, burst: 2 },
    });
    const session = connect(port);
    const statuses: number[] = [];
    let refused: H2Response | undefined;
    for (let i = 0; i < 3; i++) {
      const response = await h2request(session, { ":path": "/limited" });
      statuses.push(response.status);
      if (response.status === 429) refused = response;
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(Number(refused?.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(refused?.body.toString() ?? "{}")).toMatchObject({ error: "SY_ERR_RATE_LIMITED" });
    expect(proxy.stats().routes[0]).toMatchObject({ requests: 3, rateLimited: 1 });
  });

  it("holds HTTP/2 requests to the listener's field count and target length, as HTTP/1.1 ones: 431 and 414", async () => {
    const backend = await track(startEchoServer("limits"));
    const { proxy, port } = await startProxy([backend]);
    const session = connect(port);
    const fields = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-filler-${i}`, "1"]));

    // Host (from :authority) and 99 fields make 100: at the limit, forwarded.
    const atLimit = await h2request(session, { ":path": "/ok", ...fields(99) });
    expect(atLimit.status).toBe(200);
    const tooMany = await h2request(session, { ":path": "/many", ...fields(110) });
    expect(tooMany.status).toBe(431);
    expect(JSON.parse(tooMany.body.toString())).toMatchObject({ error: "SY_ERR_HEADERS_TOO_LARGE" });
    const longTarget = await h2request(session, { ":path": `/${"a".repeat(8_200)}` });
    expect(longTarget.status).toBe(414);
    expect(longTarget.headers["x-switchyard-error"]).toBe("SY_ERR_URI_TOO_LONG");
    // The session is still good, and the backend saw only the request within the limits.
    expect((await h2request(session, { ":path": "/after" })).status).toBe(200);
    expect(proxy.stats().errors).toMatchObject({ SY_ERR_HEADERS_TOO_LARGE: 1, SY_ERR_URI_TOO_LONG: 1 });
  });

  it("holds a first request, sent before the client acknowledged SETTINGS, to the header list size: 431", async () => {
    const backend = await track(startEchoServer("list-size"));
    const { proxy, port } = await startProxy([backend], { maxHeaderSize: 4096 });
    // A new session's first request leaves before our SETTINGS are acknowledged, when nghttp2 does not hold it yet.
    const first = await h2request(connect(port), { ":path": "/big", "x-big": "b".repeat(12_000) });
    expect(first.status).toBe(431);
    expect(first.headers["x-switchyard-error"]).toBe("SY_ERR_HEADERS_TOO_LARGE");
    expect(backend.requests).toBe(0);
    expect(proxy.stats().errors).toMatchObject({ SY_ERR_HEADERS_TOO_LARGE: 1 });
    expect((await h2request(connect(port), { ":path": "/small", "x-small": "s".repeat(2_000) })).status).toBe(
      200,
    );
  });

  it("takes h2c with prior knowledge only when h2c is on", async () => {
    const backend = await track(startEchoServer("plain-backend"));
    const on = await startProxy([backend], { plain: true, h2c: true });
    const off = await startProxy([backend], { plain: true });
    const args = (port: number) => [
      "--http2-prior-knowledge",
      "-w",
      "\n%{http_version}",
      `http://${LOCALHOST}:${port}/p`,
    ];

    const accepted = await curl(args(on.port));
    expect(accepted.code).toBe(0);
    const [body, version] = accepted.stdout.split("\n");
    expect(version).toBe("2");
    expect(JSON.parse(body as string)).toMatchObject({ name: "plain-backend", url: "/p" });
    expect((JSON.parse(body as string) as EchoReply).headers["x-forwarded-proto"]).toBe("http");

    const refused = await curl(args(off.port));
    expect(refused.stdout.endsWith("\n2")).toBe(false);
    expect(refused.code).not.toBe(0);
    // HTTP/1.1 still works beside h2c.
    const plain = await curl(["-w", "\n%{http_version}", `http://${LOCALHOST}:${on.port}/q`]);
    expect(plain.stdout.endsWith("\n1.1")).toBe(true);
    expect(on.proxy.stats().http2Requests).toBe(1);
  });

  it("balances many concurrent streams of one session over the pool, with the protocol in the access log", async () => {
    const a = await track(startEchoServer("a"));
    const b = await track(startEchoServer("b"));
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const { proxy, port } = await startProxy([a, b], { accessLog: new AccessLog(logger) });
    const session = connect(port);
    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, i) => h2request(session, { ":path": `/s/${i}` })),
    );
    const names = replies.map((reply) => (JSON.parse(reply.body.toString()) as EchoReply).name);
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    expect(names.filter((name) => name === "a").length).toBe(20);
    expect(names.filter((name) => name === "b").length).toBe(20);
    // Connection-specific fields never reach an HTTP/2 client.
    expect(replies[0]?.headers.connection).toBeUndefined();
    expect(replies[0]?.headers["x-backend"]).toBeDefined();
    expect(proxy.stats()).toMatchObject({ requests: 40, http2Requests: 40, inFlight: 0 });
    await waitFor(() => lines.length === 40);
    expect(lines[0]).toMatchObject({ msg: "access", protocol: "HTTP/2", status: 200 });
  });

  it("streams a request body to the backend and passes response trailers back", async () => {
    const backend = await track(
      startServer((req, res) => {
        let bytes = 0;
        req.on("data", (chunk: Buffer) => {
          bytes += chunk.length;
        });
        req.on("end", () => {
          res.writeHead(200, { "content-type": "text/plain", trailer: "x-checksum" });
          res.write(`got ${bytes} bytes over ${req.headers["transfer-encoding"] ?? "length"}`);
          res.addTrailers({ "x-checksum": String(bytes) });
          res.end();
        });
      }),
    );
    const { port } = await startProxy([backend]);
    const session = connect(port);
    // Larger than the stream window, so flow control and backpressure run on both sides.
    const upload = Buffer.alloc(1_000_000, 7);
    const reply = await h2request(session, { ":method": "POST", ":path": "/upload" }, upload);
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe("got 1000000 bytes over chunked");
    expect(reply.trailers?.["x-checksum"]).toBe("1000000");
  });

  it("forwards a client's request trailers to the backend as chunked trailers", async () => {
    const backend = await track(
      startServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (chunk: Buffer) => chunks.push(chunk));
        req.on("end", () =>
          res.end(
            JSON.stringify({
              framing: req.headers["transfer-encoding"],
              body: Buffer.concat(chunks).toString(),
              trailers: req.trailers,
            }),
          ),
        );
      }),
    );
    const { port } = await startProxy([backend]);
    const session = connect(port);
    const head = { ":method": "POST", ":path": "/signed" };
    const signed = await h2request(session, head, "payload", { "x-checksum": "sha256=abc", "x-parts": "1" });
    expect(JSON.parse(signed.body.toString())).toEqual({
      framing: "chunked",
      body: "payload",
      trailers: { "x-checksum": "sha256=abc", "x-parts": "1" },
    });
    // Trailers right after the head, no body between.
    const bare = await h2request(session, head, undefined, { "x-checksum": "none" });
    expect(JSON.parse(bare.body.toString())).toMatchObject({ body: "", trailers: { "x-checksum": "none" } });
  });

  it("relays a large response with backpressure, and a client reset mid-response cancels the backend request", async () => {
    let backendSawClose = false;
    const backend = await track(
      startServer((req, res) => {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        if (req.url === "/big") {
          // 4 MiB, far past the client's stream window: the proxy must wait for 'drain'.
          const chunk = Buffer.alloc(64 * 1024, 1);
          let left = 64;
          const pump = (): void => {
            while (left > 0) {
              left--;
              if (!res.write(chunk)) {
                res.once("drain", pump);
                return;
              }
            }
            res.end();
          };
          pump();
        } else {
          res.write("first");
          res.on("close", () => {
            backendSawClose = true;
          });
        }
      }),
    );
    const { proxy, port } = await startProxy([backend]);
    const session = connect(port);
    const big = await h2request(session, { ":path": "/big" });
    expect(big.body.length).toBe(4 * 1024 * 1024);

    const stream = session.request({ ":path": "/never-ends" });
    stream.on("error", () => {});
    await new Promise((resolve) => stream.once("data", resolve));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => backendSawClose);
    await waitFor(() => proxy.stats().inFlight === 0);
    expect(proxy.stats().http2RapidResetCloses).toBe(0);
  });

  it("resets a stream whose upload stalls for timeouts.idleMs, then closes the idle session", async () => {
    const backend = await track(startEchoServer("waits-for-body"));
    const { proxy, port } = await startProxy([backend], { timeouts: { idleMs: 300 } });
    const session = connect(port);
    const closed = new Promise<void>((resolve) => session.on("close", () => resolve()));
    const stream = session.request({ ":method": "POST", ":path": "/stalled" });
    stream.on("error", () => {});
    stream.write("part of a body");
    await new Promise((resolve) => stream.once("close", resolve));
    const resetAt = performance.now();
    expect(stream.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    await waitFor(() => proxy.stats().inFlight === 0);
    // Our reset is no frame from the client: the session's idle time counts from it all the same.
    await closed;
    expect(performance.now() - resetAt).toBeGreaterThan(200);
  });

  it("resets a stream whose client stops reading for timeouts.idleMs, even once the backend has finished", async () => {
    // More than the stream's 64 KiB window, little enough for the proxy to read it all from the backend.
    const backend = await track(startServer((_req, res) => res.end(Buffer.alloc(100_000))));
    const { proxy, port } = await startProxy([backend], { timeouts: { idleMs: 300 } });
    const stream = connect(port).request({ ":path": "/unread" });
    stream.on("error", () => {});
    // Never read: no WINDOW_UPDATE, so the rest of the response waits in the proxy.
    stream.pause();
    await new Promise((resolve) => stream.once("close", resolve));
    expect(stream.rstCode).toBe(http2.constants.NGHTTP2_INTERNAL_ERROR);
    await waitFor(() => proxy.stats().inFlight === 0);
  });

  it("closes a session idle for timeouts.idleMs with GOAWAY, but not while a stream waits for its backend", async () => {
    const backend = await track(startServer((_req, res) => setTimeout(() => res.end("late"), 700)));
    const { port } = await startProxy([backend], { timeouts: { idleMs: 300 } });
    const session = connect(port);
    let goawayAt = 0;
    session.on("goaway", () => {
      goawayAt ||= performance.now();
    });
    const closed = new Promise<void>((resolve) => session.on("close", () => resolve()));
    const reply = await h2request(session, { ":path": "/late" });
    const answeredAt = performance.now();
    expect(reply.body.toString()).toBe("late");
    expect(goawayAt).toBe(0);
    await closed;
    expect(goawayAt - answeredAt).toBeGreaterThan(200);
  });

  it("routes by :authority", async () => {
    const web = await track(startEchoServer("web"));
    const api = await track(startEchoServer("api"));
    const apiBalancer = createBalancer({ backends: [{ address: api.address }] });
    const { proxy, port } = await startProxy([web], {
      routes: [{ name: "api", match: { host: "api.test" }, balancer: apiBalancer, pool: "api" }],
    });
    const session = connect(port);
    const toApi = await h2request(session, { ":path": "/v", ":authority": "api.test" });
    const toWeb = await h2request(session, { ":path": "/v", ":authority": "a.test" });
    const apiReply = JSON.parse(toApi.body.toString()) as EchoReply;
    expect(apiReply.name).toBe("api");
    expect(apiReply.headers.host).toBe("api.test");
    expect((JSON.parse(toWeb.body.toString()) as EchoReply).name).toBe("web");
    expect(proxy.stats().routes).toEqual([
      { name: "api", pool: "api", match: "api.test", requests: 1, rateLimited: 0 },
      { name: "default", pool: undefined, match: "", requests: 1, rateLimited: 0 },
    ]);
  });

  it.each([
    ["CANCEL", http2.constants.NGHTTP2_CANCEL],
    ["NO_ERROR", http2.constants.NGHTTP2_NO_ERROR],
  ])(
    "cuts off a client that resets streams in a loop (rapid reset, %s) and keeps serving others",
    async (_, code) => {
      // A backend that never answers: every stream is reset before its response.
      const backend = await track(startServer(() => {}));
      // The default limit: more than 200 resets within 10 s.
      const { proxy, port } = await startProxy([backend]);
      const attacker = connect(port);
      const goaway = new Promise<number>((resolve) => attacker.on("goaway", (code) => resolve(code)));
      const closed = new Promise<void>((resolve) => attacker.on("close", () => resolve()));
      await new Promise<void>((resolve) => attacker.once("connect", () => resolve()));
      // Bounded, and far under nghttp2's own limit (a burst of 1000), so only ours can end it.
      for (let round = 0; round < 40 && !attacker.closed && !attacker.destroyed; round++) {
        const streams = Array.from({ length: 10 }, (_, i) =>
          attacker.request({ ":path": `/r/${round}/${i}` }).on("error", () => {}),
        );
        // A turn for the HEADERS frames to leave: nghttp2 drops a request reset before it was sent.
        await new Promise((resolve) => setImmediate(resolve));
        for (const stream of streams) stream.close(code);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(await goaway).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      await closed;
      expect(proxy.stats().http2RapidResetCloses).toBe(1);

      const echo = await track(startEchoServer("after"));
      const { port: other } = await startProxy([echo]);
      expect((await h2request(connect(other), { ":path": "/after" })).status).toBe(200);
    },
  );

  it("takes h2c and HTTP/2 limits from the config and counts HTTP/2 requests in /metrics", async () => {
    const backend = await track(startEchoServer("configured"));
    const runtime = await startSwitchyard(
      parseConfig({
        listeners: [
          {
            name: "web",
            listen: "127.0.0.1:0",
            pool: "web",
            h2c: true,
            http2: { maxConcurrentStreams: 7, rapidReset: { maxResets: 20, windowMs: 5_000 } },
          },
        ],
        pools: { web: { backends: [{ address: backend.address }] } },
        admin: { listen: "127.0.0.1:0" },
      }),
    );
    cleanups.push(() => runtime.close(200));
    const session = connect(runtime.listeners[0]?.port as number, true);
    const settings = new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
    expect((await h2request(session, { ":path": "/c" })).status).toBe(200);
    expect((await settings).maxConcurrentStreams).toBe(7);
    const metrics = parseExposition(
      (await request({ port: runtime.admin?.port as number, path: "/metrics" })).text,
    );
    const labels = { listener: "web", pool: "web" };
    expect(metrics.value("switchyard_listener_http2_requests_total", labels)).toBe(1);
    expect(metrics.value("switchyard_listener_http2_rapid_reset_closes_total", labels)).toBe(0);
  });

  it("lets in-flight streams finish on close, after GOAWAY, and counts them in flight", async () => {
    let release: () => void = () => {};
    const backend = await track(
      startServer((_req, res) => {
        release = () => res.end("done");
        res.writeHead(200, { "content-type": "text/plain" });
      }),
    );
    const { proxy, port } = await startProxy([backend]);
    const session = connect(port);
    const goaway = new Promise<void>((resolve) => session.on("goaway", () => resolve()));
    const pending = h2request(session, { ":path": "/slow" });
    await waitFor(() => backend.requests === 1);
    expect(proxy.stats().inFlight).toBe(1);
    const closing = proxy.close(5_000);
    await goaway;
    release();
    const reply = await pending;
    expect(reply.body.toString()).toBe("done");
    await closing;
    expect(proxy.stats().inFlight).toBe(0);
  });
});
