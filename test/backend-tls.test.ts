/**
 * TLS to backends, as an operator configures it: `https://` backend
 * addresses with the pool's `backendTls` (CA file, server name, client
 * certificate, insecureSkipVerify), through the whole runtime. Certificates
 * come from a CA made by openssl at test time. A backend whose certificate
 * does not verify is never sent the request (502), and the health checks
 * judge it the same way, as do prequal's load probes.
 */

import { readFileSync } from "node:fs";
import https from "node:https";
import type net from "node:net";
import { join } from "node:path";
import type tls from "node:tls";
import { fetch } from "undici";
import { describe, expect, it } from "vitest";
import type { Balancer } from "../src/balancer/balancer.js";
import { BalancedDispatcher } from "../src/client/balanced-dispatcher.js";
import { parseConfig } from "../src/config/load.js";
import type { Backend } from "../src/core/backend.js";
import { DEFAULT_PROBE_PATH, type ProbeMiss, type ProbeReply } from "../src/core/probe.js";
import { type Runtime, startSwitchyard } from "../src/runtime.js";
import { makeCa, makeSigned } from "./helpers/certificates.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import { closeServer, LOCALHOST, rawRequest, request, waitFor } from "./helpers/servers.js";

const dir = useTempDirNow("switchyard-backend-tls-");
const cleanups = useCleanups();

const ca = makeCa(dir, "internal-ca");
const server = makeSigned(dir, ca, "backend", "backend", ["backend.test", LOCALHOST]);
const client = makeSigned(dir, ca, "proxy-client", "switchyard-proxy", []);
const otherCa = makeCa(dir, "other-ca");

interface TlsBackendReply {
  servername: string | false;
  clientCn: string | undefined;
  url: string;
}

/** An HTTPS echo backend; with `requireClientCert`, only clients with a certificate from our CA get in. */
async function startTlsBackend(
  requireClientCert = false,
): Promise<{ address: string; upgrades: () => number }> {
  let upgrades = 0;
  const backend = https.createServer(
    {
      cert: readFileSync(server.cert),
      key: readFileSync(server.key),
      ca: readFileSync(ca.cert),
      requestCert: requireClientCert,
      rejectUnauthorized: requireClientCert,
    },
    (req, res) => {
      res.setHeader("content-type", "application/json");
      // A load probe (prequal) is answered with its servername in place of a load figure.
      if (req.url === DEFAULT_PROBE_PATH) {
        const sni = (req.socket as tls.TLSSocket & { servername: string | false }).servername;
        return void res.end(JSON.stringify({ rif: sni === "backend.test" ? 1 : 0, latencyMs: 2 }));
      }
      const socket = req.socket as tls.TLSSocket;
      const reply: TlsBackendReply = {
        servername: (socket as tls.TLSSocket & { servername: string | false }).servername,
        clientCn: socket.getPeerCertificate().subject?.CN?.toString(),
        url: req.url ?? "",
      };
      res.end(JSON.stringify(reply));
    },
  );
  backend.on("upgrade", (_req, socket: net.Socket) => {
    upgrades++;
    socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => backend.listen(0, LOCALHOST, resolve));
  cleanups.push(() => closeServer(backend));
  return {
    address: `https://${LOCALHOST}:${(backend.address() as net.AddressInfo).port}`,
    upgrades: () => upgrades,
  };
}

async function start(pool: Record<string, unknown>): Promise<{ runtime: Runtime; port: number }> {
  const runtime = await startSwitchyard(
    parseConfig({
      listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "api", maxRetries: 0 }],
      pools: { api: { outlierDetection: false, circuitBreaker: false, ...pool } },
    }),
  );
  cleanups.push(() => runtime.close(200));
  return { runtime, port: runtime.listeners[0]?.port as number };
}

async function get(
  port: number,
  path = "/hello",
): Promise<{ status: number; body: string; reply?: TlsBackendReply }> {
  const response = await request({ port, path });
  return {
    status: response.status,
    body: response.body.toString(),
    reply: response.status === 200 ? (JSON.parse(response.body.toString()) as TlsBackendReply) : undefined,
  };
}

describe("TLS to backends", () => {
  it("verifies an https:// backend against the pool's CA and sends SNI with serverName", async () => {
    const backend = await startTlsBackend();
    const { port } = await start({
      backends: [{ address: backend.address }],
      backendTls: { ca: ca.cert, serverName: "backend.test" },
    });
    const first = await get(port);
    expect(first).toMatchObject({ status: 200, reply: { servername: "backend.test", url: "/hello" } });
    // The connection is kept alive and reused.
    expect((await get(port, "/again")).reply?.url).toBe("/again");
  });

  it("checks the certificate against the IP dialled when no serverName is set (no SNI for an IP)", async () => {
    const backend = await startTlsBackend();
    const { port } = await start({ backends: [{ address: backend.address }], backendTls: { ca: ca.cert } });
    expect(await get(port)).toMatchObject({ status: 200, reply: { servername: false } });
  });

  it("refuses a backend whose certificate does not verify: unknown CA, or a name it does not carry", async () => {
    const backend = await startTlsBackend();
    // The system roots do not know our CA.
    const systemRoots = await start({ backends: [{ address: backend.address }] });
    expect(await get(systemRoots.port)).toMatchObject({
      status: 502,
      body: expect.stringContaining("SY_ERR_UPSTREAM_CONNECT"),
    });
    const wrongCa = await start({
      backends: [{ address: backend.address }],
      backendTls: { ca: otherCa.cert },
    });
    expect((await get(wrongCa.port)).status).toBe(502);
    const wrongName = await start({
      backends: [{ address: backend.address }],
      backendTls: { ca: ca.cert, serverName: "other.test" },
    });
    expect((await get(wrongName.port)).status).toBe(502);
    // insecureSkipVerify is the explicit way around it.
    const insecure = await start({
      backends: [{ address: backend.address }],
      backendTls: { insecureSkipVerify: true },
    });
    expect((await get(insecure.port)).status).toBe(200);
  });

  it("presents the client certificate to a backend that requires one (mTLS)", async () => {
    const backend = await startTlsBackend(true);
    const without = await start({ backends: [{ address: backend.address }], backendTls: { ca: ca.cert } });
    expect((await get(without.port)).status).toBe(502);
    const withCert = await start({
      backends: [{ address: backend.address }],
      backendTls: { ca: ca.cert, cert: client.cert, key: client.key },
    });
    expect(await get(withCert.port)).toMatchObject({ status: 200, reply: { clientCn: "switchyard-proxy" } });
  });

  it("health-checks https:// backends over TLS with the same settings", async () => {
    const backend = await startTlsBackend();
    const healthCheck = { type: "http", path: "/health", intervalMs: 50, timeoutMs: 1_000, rise: 1, fall: 1 };
    const trusted = await start({
      backends: [{ address: backend.address }],
      backendTls: { ca: ca.cert },
      healthCheck,
    });
    const untrusted = await start({
      backends: [{ address: backend.address }],
      backendTls: { ca: otherCa.cert },
      healthCheck: { ...healthCheck, type: "tcp" },
    });
    const state = (runtime: Runtime) => runtime.balancers.get("api")?.pool.backends[0]?.state;
    await waitFor(() => state(trusted.runtime) === "healthy" && state(untrusted.runtime) === "unhealthy");
    expect(state(trusted.runtime)).toBe("healthy");
    expect(state(untrusted.runtime)).toBe("unhealthy");
  });

  it("sends prequal's load probes over TLS with the same settings", async () => {
    const backend = await startTlsBackend();
    const probeOnce = async (backendTls: Record<string, unknown>) => {
      const { runtime } = await start({ backends: [{ address: backend.address }], backendTls });
      const balancer = runtime.balancers.get("api") as Balancer;
      const target = balancer.pool.backends[0] as Backend;
      return new Promise<ProbeReply | ProbeMiss>((resolve) =>
        balancer.env.probes.probe(target, { path: DEFAULT_PROBE_PATH, timeoutMs: 2_000 }, resolve),
      );
    };
    expect(await probeOnce({ ca: ca.cert, serverName: "backend.test" })).toEqual({ rif: 1, latencyMs: 2 });
    // A backend the pool's CA did not sign gets no probe through: no reply, not a trusted figure.
    expect(await probeOnce({ ca: otherCa.cert })).toBe("unanswered");
  });

  it("tunnels a WebSocket upgrade over TLS", async () => {
    const backend = await startTlsBackend();
    const { port } = await start({ backends: [{ address: backend.address }], backendTls: { ca: ca.cert } });
    const answer = await rawRequest(
      port,
      "GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nping",
      1_000,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 101 /);
    expect(answer.endsWith("ping")).toBe(true);
    expect(backend.upgrades()).toBe(1);
  });

  it("serves fetch through the client dispatcher to https:// backends with the same settings", async () => {
    const backend = await startTlsBackend(true);
    const dispatcher = new BalancedDispatcher({
      services: {
        orders: {
          backends: [backend.address],
          backendTls: { ca: ca.cert, serverName: "backend.test", cert: client.cert, key: client.key },
        },
      },
    });
    cleanups.push(() => dispatcher.destroy());
    const response = await fetch("http://orders/items/1", { dispatcher });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      servername: "backend.test",
      clientCn: "switchyard-proxy",
      url: "/items/1",
    });
  });

  it("names the file it cannot read and refuses a tcp listener in front of https:// backends", async () => {
    await expect(
      start({ backends: [{ address: "https://127.0.0.1:1" }], backendTls: { ca: join(dir, "missing.pem") } }),
    ).rejects.toThrow(/backend TLS: cannot read .*missing\.pem: ENOENT/);
    expect(() =>
      parseConfig({
        listeners: [{ name: "raw", protocol: "tcp", listen: "127.0.0.1:0", pool: "api" }],
        pools: { api: { backends: [{ address: "https://127.0.0.1:8443" }] } },
      }),
    ).toThrow(/pools\.api\.backends\[0\]\.address: expected host:port for a pool behind tcp listener "raw"/);
    expect(() =>
      parseConfig({
        listeners: [{ name: "web", listen: "127.0.0.1:0", pool: "api" }],
        pools: {
          api: { backends: [{ address: "https://127.0.0.1:8443" }], backendTls: { cert: client.cert } },
        },
      }),
    ).toThrow(/expected cert and key together/);
  });
});
