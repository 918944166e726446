/**
 * TLS termination on the HTTP listener, with certificates made by openssl at
 * test time (no private key is committed): SNI picks the certificate (exact
 * name, one-label wildcard, the first one otherwise), requests are proxied
 * with X-Forwarded-Proto https, the minimum version is enforced, curl gets
 * through with --cacert, and a certificate replaced on disk is served to new
 * connections while an open one keeps working; a plain listener can send
 * its clients to https with a 308.
 */
import { execFile } from "node:child_process";
import { readFileSync, renameSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { join } from "node:path";
import tls from "node:tls";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createBalancer } from "../src/balancer/balancer.js";
import { parseConfig } from "../src/config/load.js";
import { HttpProxy } from "../src/proxy/http-proxy.js";
import { TlsCertificates } from "../src/proxy/tls-certificates.js";
import { startSwitchyard } from "../src/runtime.js";
import { makeSelfSigned } from "./helpers/certificates.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import {
  type EchoReply,
  LOCALHOST,
  rawRequest,
  startEchoServer,
  type TestServer,
  waitFor,
} from "./helpers/servers.js";

const dir = useTempDirNow("switchyard-tls-");
const cleanups = useCleanups();

const first = makeSelfSigned(dir, "first", "first", ["a.test"]);
const wildcard = makeSelfSigned(dir, "wildcard", "wildcard", ["*.b.test"]);
const trusted = [readFileSync(first.cert), readFileSync(wildcard.cert)];

async function track(server: Promise<TestServer>): Promise<TestServer> {
  const started = await server;
  cleanups.push(() => started.close());
  return started;
}

async function startTlsProxy(
  backend: TestServer,
  minVersion?: "TLSv1.2" | "TLSv1.3",
): Promise<{ port: number; proxy: HttpProxy }> {
  const certificates = await TlsCertificates.load([first, wildcard]);
  const balancer = createBalancer({ backends: [{ address: backend.address }] });
  const proxy = new HttpProxy({ balancer, tls: { certificates, minVersion } });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return { port, proxy };
}

/** The CN of the certificate served to a client asking for `servername` (none: no SNI). */
function servedName(port: number, servername?: string, options: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(
      { host: LOCALHOST, port, servername, rejectUnauthorized: false, ...options },
      () => {
        const cn = socket.getPeerCertificate().subject?.CN;
        socket.destroy();
        resolve(String(cn));
      },
    );
    socket.on("error", reject);
  });
}

function get(port: number, servername: string, agent?: https.Agent, ca = trusted): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: LOCALHOST, port, servername, ca, agent, headers: { host: servername } },
      (res) => {
        let body = "";
        res.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        res.on("end", () => resolve(JSON.parse(body) as EchoReply));
      },
    );
    req.on("error", reject);
  });
}

describe("TLS listener", () => {
  it("serves the certificate the client names, the first one otherwise, and proxies with X-Forwarded-Proto https", async () => {
    const backend = await track(startEchoServer());
    const { port } = await startTlsProxy(backend);
    expect(await servedName(port, "a.test")).toBe("first");
    expect(await servedName(port, "x.b.test")).toBe("wildcard");
    expect(await servedName(port, "X.B.TEST")).toBe("wildcard");
    // A wildcard covers one label only; unknown names and clients without SNI get the first certificate.
    expect(await servedName(port, "y.x.b.test")).toBe("first");
    expect(await servedName(port, "b.test")).toBe("first");
    expect(await servedName(port)).toBe("first");

    const reply = await get(port, "x.b.test");
    expect(reply.headers["x-forwarded-proto"]).toBe("https");
    expect(reply.headers.forwarded).toContain("proto=https");
  });

  it("refuses clients below the minimum version", async () => {
    const backend = await track(startEchoServer());
    const { port } = await startTlsProxy(backend, "TLSv1.3");
    await expect(servedName(port, "a.test", { maxVersion: "TLSv1.2" })).rejects.toThrow();
    expect(await servedName(port, "a.test", { minVersion: "TLSv1.3" })).toBe("first");
  });

  it("lets curl through with --cacert and SNI", async () => {
    const backend = await track(startEchoServer("curl-backend"));
    const { port } = await startTlsProxy(backend);
    // Asynchronously: the proxy answering curl runs in this process.
    const { stdout: out } = await promisify(execFile)(
      "curl",
      [
        "-sS",
        "--cacert",
        first.cert,
        "--resolve",
        `a.test:${port}:${LOCALHOST}`,
        `https://a.test:${port}/hello`,
      ],
      { encoding: "utf8", timeout: 10_000 },
    );
    const reply = JSON.parse(out) as EchoReply;
    expect(reply).toMatchObject({ name: "curl-backend", url: "/hello" });
  });

  it("redirects a plain listener's requests to https with 308, keeping host and target", async () => {
    const backend = await track(startEchoServer());
    const runtime = await startSwitchyard(
      parseConfig({
        listeners: [
          { name: "secure", listen: "127.0.0.1:0", pool: "web", tls: { certificates: [first] } },
          { name: "plain", listen: "127.0.0.1:0", pool: "web", redirectToHttps: { port: 8443 } },
        ],
        pools: { web: { backends: [{ address: backend.address }] } },
      }),
    );
    cleanups.push(() => runtime.close(200));
    const plain = runtime.listeners[1]?.port as number;
    const answer = await rawRequest(
      plain,
      "POST /cart?id=7 HTTP/1.1\r\nHost: a.test:80\r\nContent-Length: 3\r\n\r\nabc",
    );
    expect(answer).toMatch(/^HTTP\/1\.1 308 /);
    expect(answer).toContain("location: https://a.test:8443/cart?id=7\r\n");
    const noHost = await rawRequest(plain, "GET / HTTP/1.0\r\n\r\n");
    expect(noHost).toMatch(/^HTTP\/1\.1 400 /);
    expect(backend.requests).toBe(0);
    // The TLS listener beside it proxies.
    expect((await get(runtime.listeners[0]?.port as number, "a.test")).headers["x-forwarded-proto"]).toBe(
      "https",
    );
  });

  it("closes connections still in their handshake when the listener closes, with or without a PROXY header", async () => {
    const backend = await track(startEchoServer());
    const certificates = await TlsCertificates.load([first]);
    for (const acceptProxyProtocol of [false, true]) {
      const balancer = createBalancer({ backends: [{ address: backend.address }] });
      const proxy = new HttpProxy({ balancer, tls: { certificates }, acceptProxyProtocol });
      const { port } = await proxy.listen();
      // Connected, past any PROXY header, and silent: the TLS handshake never starts.
      const sockets = await Promise.all(
        Array.from({ length: 5 }, async () => {
          const socket = net.connect({ host: LOCALHOST, port });
          socket.on("error", () => undefined);
          await new Promise((resolve) => socket.once("connect", resolve));
          if (acceptProxyProtocol) socket.write("PROXY TCP4 203.0.113.9 198.51.100.1 40000 443\r\n");
          return socket;
        }),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const closed = Promise.all(
        sockets.map((socket) => new Promise((resolve) => socket.once("close", resolve))),
      );
      const startedAt = Date.now();
      await proxy.close(100);
      await closed;
      // Not the handshake timeout (timeouts.requestHeadMs, 60 s).
      expect(Date.now() - startedAt).toBeLessThan(2_000);
    }
    expect(backend.requests).toBe(0);
  });

  it("says which certificate file it cannot read", async () => {
    await expect(TlsCertificates.load([{ cert: join(dir, "missing.pem"), key: first.key }])).rejects.toThrow(
      /cannot read the TLS certificate file .*missing\.pem: ENOENT/,
    );
    await expect(TlsCertificates.load([{ cert: first.cert, key: wildcard.key }])).rejects.toThrow(
      /TLS certificate .*first\.pem with key .*wildcard\.key/,
    );
  });

  it("serves a certificate replaced on disk to new connections; an open connection keeps working", async () => {
    const backend = await track(startEchoServer());
    const live = makeSelfSigned(dir, "live", "before", ["a.test"]);
    const runtime = await startSwitchyard(
      parseConfig({
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "web", tls: { certificates: [live] } }],
        pools: { web: { backends: [{ address: backend.address }] } },
      }),
    );
    cleanups.push(() => runtime.close(200));
    const port = runtime.listeners[0]?.port as number;
    const before = [readFileSync(live.cert)];
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(async () => agent.destroy());
    await get(port, "a.test", agent, before);
    const heldSockets = () => Object.values(agent.freeSockets).flat();
    const [open] = heldSockets();
    expect(open).toBeDefined();

    // Replace key and certificate the way deploy tools do: write aside, then rename over.
    const renewed = makeSelfSigned(dir, "renewed", "after", ["a.test"]);
    renameSync(renewed.key, live.key);
    renameSync(renewed.cert, live.cert);
    let served = "";
    await waitFor(() => {
      void servedName(port, "a.test").then((cn) => {
        served = cn;
      });
      return served === "after";
    }, 5_000);
    // The keep-alive connection made before the renewal still carries requests.
    const reply = await get(port, "a.test", agent, before);
    expect(reply.headers["x-forwarded-proto"]).toBe("https");
    expect(heldSockets()).toEqual([open]);
  });
});
