/**
 * The client dispatcher to `backendProtocol: h2` services: requests through
 * undici's fetch reach h2c-only backends (prior knowledge) and TLS backends
 * that offer only `h2`, as streams of one session per backend, balanced over
 * the service's backends.
 */
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { fetch } from "undici";
import { describe, expect, it } from "vitest";
import { BalancedDispatcher } from "../src/client/balanced-dispatcher.js";
import { makeCa, makeSigned } from "./helpers/certificates.js";
import { useCleanups, useTempDirNow } from "./helpers/fixtures.js";
import { LOCALHOST } from "./helpers/servers.js";

const dir = useTempDirNow("switchyard-dispatcher-h2-");
const ca = makeCa(dir, "dispatcher-ca");
const siteFiles = makeSigned(dir, ca, "backend", "backend", ["backend.test"]);
const cleanups = useCleanups();

interface H2Backend {
  address: string;
  requests: number;
  sessions: number;
}

/** An HTTP/2-only backend (no HTTP/1.1 fallback) answering its name and the request's path. */
async function startH2Backend(name: string, tls = false): Promise<H2Backend> {
  const server = tls
    ? http2.createSecureServer({
        cert: readFileSync(siteFiles.cert),
        key: readFileSync(siteFiles.key),
        allowHTTP1: false,
      })
    : http2.createServer();
  const backend: H2Backend = { address: "", requests: 0, sessions: 0 };
  server.on("session", () => backend.sessions++);
  server.on("stream", (stream, headers) => {
    backend.requests++;
    stream.respond({ ":status": 200, "content-type": "application/json" });
    stream.end(JSON.stringify({ name, path: headers[":path"] }));
  });
  await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
  const { port } = server.address() as AddressInfo;
  backend.address = `${tls ? "https" : "http"}://${LOCALHOST}:${port}`;
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return backend;
}

function track(dispatcher: BalancedDispatcher): BalancedDispatcher {
  cleanups.push(() => dispatcher.destroy());
  return dispatcher;
}

describe("client dispatcher to h2 services", () => {
  it("reaches h2c-only backends with prior knowledge, many requests as streams of one session each", async () => {
    const backends = [await startH2Backend("a"), await startH2Backend("b")];
    const dispatcher = track(
      new BalancedDispatcher({
        services: { grpcish: { backends: backends.map((b) => b.address), backendProtocol: "h2" } },
      }),
    );
    const replies = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const response = await fetch(`http://grpcish/item/${i}`, { dispatcher });
        expect(response.status).toBe(200);
        return (await response.json()) as { name: string; path: string };
      }),
    );
    expect(replies.map((reply) => reply.path).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `/item/${i}`).sort(),
    );
    expect(backends.map((backend) => backend.requests)).toEqual([10, 10]);
    expect(backends.map((backend) => backend.sessions)).toEqual([1, 1]);
  });

  it("reaches TLS backends that offer only h2, with the service's backendTls", async () => {
    const backend = await startH2Backend("secure", true);
    const dispatcher = track(
      new BalancedDispatcher({
        services: {
          secure: {
            backends: [backend.address],
            backendProtocol: "h2",
            backendTls: { ca: ca.cert, serverName: "backend.test" },
          },
        },
      }),
    );
    const response = await fetch("http://secure/tls", { dispatcher });
    expect(await response.json()).toEqual({ name: "secure", path: "/tls" });
    expect(backend.sessions).toBe(1);
  });
});
