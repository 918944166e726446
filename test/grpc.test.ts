/**
 * gRPC through the proxy with @grpc/grpc-js on both ends: two gRPC servers
 * behind a pool with `backendProtocol: h2` (h2c), a grpc-js client on an h2c
 * listener and on a TLS one (ALPN h2). Unary calls balance over both
 * backends, server- and client-streaming calls pass whole, an error status
 * and its message reach the client as they left the server, and a backend
 * that goes away mid-run leaves the calls to the other.
 */
import http2 from "node:http2";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { createBalancer } from "../src/balancer/balancer.js";
import { Backend } from "../src/core/backend.js";
import { defaultUpstreamTls } from "../src/core/upstream-tls.js";
import { GrpcHealthCheck } from "../src/health/grpc-check.js";
import { HttpProxy } from "../src/proxy/http-proxy.js";
import { TlsCertificates } from "../src/proxy/tls-certificates.js";
import { makeSelfSigned } from "./helpers/certificates.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import { type EchoClient, echoClient, type Note, say, sayFailure, startGrpcServer } from "./helpers/grpc.js";
import { closedPort, LOCALHOST, waitFor } from "./helpers/servers.js";

const dir = useTempDirNow("switchyard-grpc-");
const site = makeSelfSigned(dir, "site", "localhost", ["localhost"]);
const cleanups = useCleanups();

/** A gRPC server named `name`, over TLS with the site certificate when `tls`. */
function grpcServer(name: string, tls = false) {
  return startGrpcServer(name, cleanups, tls ? site : undefined);
}

/** A proxy to `backends` speaking h2 to them (TLS ones checked against the site certificate), h2c (or TLS) to clients. */
async function startProxy(backends: readonly string[], tls = false): Promise<number> {
  const balancer = createBalancer({
    backends: backends.map((address) => ({ address })),
    backendProtocol: "h2",
    backendTls: { ca: site.cert, serverName: "localhost" },
  });
  const proxy = new HttpProxy(
    tls ? { balancer, tls: { certificates: await TlsCertificates.load([site]) } } : { balancer, h2c: true },
  );
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return port;
}

function client(port: number, tls = false): EchoClient {
  return echoClient(port, cleanups, tls ? site.cert : undefined);
}

describe("gRPC through the proxy (backendProtocol: h2)", () => {
  it("balances unary calls over both backends, over h2c and over TLS", async () => {
    const [a, b] = await Promise.all([grpcServer("a"), grpcServer("b")]);
    for (const tls of [false, true]) {
      const echo = client(await startProxy([a.address, b.address], tls), tls);
      const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => say(echo, `hello ${i}`)));
      expect(replies.map((reply) => reply.text)).toEqual(Array.from({ length: 10 }, (_, i) => `hello ${i}`));
      const servers = replies.map((reply) => reply.server);
      expect(servers.filter((server) => server === "a")).toHaveLength(5);
      expect(servers.filter((server) => server === "b")).toHaveLength(5);
    }
  });

  it("reaches https:// backends over TLS with ALPN h2", async () => {
    const [a, b] = await Promise.all([grpcServer("a", true), grpcServer("b", true)]);
    const echo = client(await startProxy([a.address, b.address]));
    const replies = await Promise.all(Array.from({ length: 4 }, (_, i) => say(echo, `secure ${i}`)));
    expect(replies.map((reply) => reply.server).sort()).toEqual(["a", "a", "b", "b"]);
  });

  it("relays a server-streaming call whole", async () => {
    const a = await grpcServer("a");
    const echo = client(await startProxy([a.address]));
    const notes: Note[] = [];
    const call = echo.Repeat({ text: "tick", count: 50 });
    await new Promise<void>((resolve, reject) => {
      call.on("data", (note: Note) => notes.push(note));
      call.on("error", reject);
      call.on("end", resolve);
    });
    expect(notes.map((note) => note.count)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(notes.every((note) => note.text === "tick" && note.server === "a")).toBe(true);
  });

  it("relays a client-streaming call whole", async () => {
    const a = await grpcServer("a");
    const echo = client(await startProxy([a.address]));
    const reply = await new Promise<Note>((resolve, reject) => {
      const call = echo.Gather((error, note) => (error ? reject(error) : resolve(note as Note)));
      for (let i = 0; i < 20; i++) call.write({ text: `n${i}` });
      call.end();
    });
    expect(reply).toMatchObject({ server: "a", count: 20 });
    expect(reply.text).toBe(Array.from({ length: 20 }, (_, i) => `n${i}`).join(","));
  });

  it("passes a gRPC error status and its message to the client", async () => {
    const a = await grpcServer("a");
    const echo = client(await startProxy([a.address]));
    const error = await sayFailure(echo, "fail");
    expect(error.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(error.details).toBe("refused by a");
  });

  it("turns a Trailers-Only answer into a head and trailers carrying its status", async () => {
    const a = await grpcServer("a");
    const port = await startProxy([a.address]);
    const session = http2.connect(`http://${LOCALHOST}:${port}`);
    cleanups.push(async () => session.close());
    const stream = session.request({
      ":method": "POST",
      ":path": "/switchyard.test.Echo/Say",
      "content-type": "application/grpc",
      te: "trailers",
    });
    // One length-prefixed message: Note { text: "fail" }.
    stream.end(Buffer.from([0, 0, 0, 0, 6, 0x0a, 4, ...Buffer.from("fail")]));
    const [head, trailers] = await Promise.all([
      new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("response", resolve)),
      new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once("trailers", resolve)),
      new Promise((resolve) => stream.on("end", resolve).resume()),
    ]);
    expect(head[":status"]).toBe(200);
    expect(head["grpc-status"]).toBeUndefined();
    expect(trailers).toMatchObject({ "grpc-status": "9", "grpc-message": "refused%20by%20a" });
  });

  it("sends calls to the other backend once one has gone away", async () => {
    const [a, b] = await Promise.all([grpcServer("a"), grpcServer("b")]);
    const echo = client(await startProxy([a.address, b.address]));
    const before = await Promise.all(Array.from({ length: 4 }, () => say(echo, "x")));
    expect(new Set(before.map((reply) => reply.server))).toEqual(new Set(["a", "b"]));
    b.server.forceShutdown();
    const after = await Promise.all(Array.from({ length: 6 }, () => say(echo, "y")));
    expect(after.map((reply) => reply.server)).toEqual(Array(6).fill("a"));
  });
});

describe("gRPC health checks (type grpc)", () => {
  it("passes on SERVING only, and fails on any other answer, an error status or no answer", async () => {
    const a = await grpcServer("a");
    const backend = new Backend({ address: a.address });
    a.health.set("echo", "NOT_SERVING");
    const checks = new Map<string, GrpcHealthCheck>();
    const check = (service: string | undefined, target = backend) => {
      let made = checks.get(service ?? "");
      if (made === undefined) {
        made = new GrpcHealthCheck(service, defaultUpstreamTls(), 2_000);
        checks.set(service ?? "", made);
        cleanups.push(() => made?.close());
      }
      return made.check(target, AbortSignal.timeout(2_000));
    };
    await expect(check(undefined)).resolves.toEqual({ ok: true, detail: "SERVING" });
    await expect(check("echo")).resolves.toEqual({ ok: false, detail: "NOT_SERVING" });
    await expect(check("nothing")).resolves.toEqual({ ok: false, detail: "grpc-status 5: unknown service" });
    const gone = new Backend({ address: `http://${LOCALHOST}:${await closedPort()}` });
    await expect(check(undefined, gone)).rejects.toThrow();
  });

  it("takes a backend out of the pool while its service is not serving, over TLS too", async () => {
    for (const tls of [false, true]) {
      const a = await grpcServer("a", tls);
      const balancer = createBalancer({
        backends: [{ address: a.address }],
        backendProtocol: "h2",
        backendTls: { ca: site.cert, serverName: "localhost" },
        healthCheck: { type: "grpc", service: "echo", intervalMs: 20, rise: 1, fall: 1, jitter: 0 },
      }).start();
      cleanups.push(() => balancer.stop());
      const backend = balancer.pool.backends[0] as Backend;
      await waitFor(() => backend.state === "healthy");
      a.health.set("echo", "NOT_SERVING");
      await waitFor(() => backend.state === "unhealthy");
      a.health.set("echo", "SERVING");
      await waitFor(() => backend.state === "healthy");
    }
  });
});
