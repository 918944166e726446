/**
 * A gRPC client's deadline (`grpc-timeout`) through the proxy: it bounds the
 * whole call, retries included; each attempt tells its backend the time left;
 * when it passes, the proxy answers DEADLINE_EXCEEDED itself and cancels the
 * backend's stream. With @grpc/grpc-js on both ends (whose client also keeps
 * its own timer) and by hand over node:http2 (which has none, so what
 * answers is the proxy), plus a malformed value, which is dropped.
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { parseGrpcTimeout } from "../src/http1/grpc-timeout.js";
import { useCleanups } from "./helpers/fixtures.js";
import { echoClient, h2Pool, type Note, rawSay, startGrpcProxy, startGrpcServer } from "./helpers/grpc.js";
import { LOCALHOST } from "./helpers/servers.js";

const cleanups = useCleanups();

/** What a hand-made backend saw of one stream. */
interface SeenStream {
  grpcTimeout: string | undefined;
  /** The RST_STREAM code it ended with, once closed. */
  rstCode: number | undefined;
}

/**
 * Two h2c backends sharing one log of the streams they get: the first stream
 * is refused (REFUSED_STREAM, so the proxy retries it on the other backend)
 * after `refuseAfterMs`; every later one is never answered.
 */
async function startRefuseThenStallBackends(
  refuseAfterMs: number,
): Promise<{ addresses: string[]; seen: SeenStream[] }> {
  const seen: SeenStream[] = [];
  const addresses: string[] = [];
  for (let i = 0; i < 2; i++) {
    const server = http2.createServer();
    server.on("session", (session) => cleanups.push(async () => session.destroy()));
    server.on("stream", (stream, headers) => {
      const entry: SeenStream = {
        grpcTimeout: headers["grpc-timeout"] as string | undefined,
        rstCode: undefined,
      };
      seen.push(entry);
      stream.on("error", () => {});
      stream.on("close", () => {
        entry.rstCode = stream.rstCode;
      });
      stream.resume();
      if (seen.length === 1)
        setTimeout(() => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM), refuseAfterMs);
    });
    await new Promise<void>((resolve) => server.listen(0, LOCALHOST, resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    addresses.push(`http://${LOCALHOST}:${(server.address() as AddressInfo).port}`);
  }
  return { addresses, seen };
}

/** Waits until `check` holds, polling for at most 2 s. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
}

describe("gRPC deadlines (grpc-timeout)", () => {
  it("answers DEADLINE_EXCEEDED itself when the deadline passes, retries included, and cancels the backend", async () => {
    const { addresses, seen } = await startRefuseThenStallBackends(150);
    const { proxy, port } = await startGrpcProxy({ balancer: h2Pool(addresses) }, cleanups);
    const started = performance.now();
    const reply = await rawSay(port, cleanups, { "grpc-timeout": "500m" });
    const elapsed = performance.now() - started;

    expect(reply.endedWithHead).toBe(true);
    expect(reply.headers).toMatchObject({
      ":status": 200,
      "grpc-status": "4",
      "grpc-message": "SY_ERR_DEADLINE_EXCEEDED: the call's deadline (grpc-timeout) passed",
      "x-switchyard-error": "SY_ERR_DEADLINE_EXCEEDED",
    });
    expect(elapsed).toBeGreaterThanOrEqual(495);
    expect(elapsed).toBeLessThan(800);

    // Each attempt was told the time the call had left: the retry 150 ms less.
    expect(seen).toHaveLength(2);
    const [first, retry] = seen.map((stream) => parseGrpcTimeout(stream.grpcTimeout ?? "") ?? Number.NaN);
    expect(first).toBeLessThanOrEqual(500);
    expect(first).toBeGreaterThan(450);
    expect(retry).toBeLessThanOrEqual((first as number) - 140);
    expect(retry).toBeGreaterThan(200);
    await until(() => seen[1]?.rstCode !== undefined);
    expect(seen[1]?.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    expect(proxy.stats()).toMatchObject({ retries: 1, errors: { SY_ERR_DEADLINE_EXCEEDED: 1 } });
  });

  it("ends a grpc-js call to a slow backend with DEADLINE_EXCEEDED within its deadline, and passes the deadline on", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { port } = await startGrpcProxy({ balancer: h2Pool([a.address]) }, cleanups);
    const echo = echoClient(port, cleanups);
    const call = (text: string, deadline: number) =>
      new Promise<grpc.ServiceError | Note>((resolve) =>
        echo.Say({ text }, { deadline }, (error, reply) => resolve(error ?? (reply as Note))),
      );

    // A call within its deadline goes through. It also opens the client's connection and the
    // proxy's to the backend, whose set-up time a relative grpc-timeout cannot account for.
    const roomy = Date.now() + 5_000;
    expect(await call("in time", roomy)).toMatchObject({ text: "in time", server: "a" });
    expect(a.deadlines[0]).toBeLessThanOrEqual(roomy + 100);
    expect(a.deadlines[0]).toBeGreaterThan(roomy - 1_000);

    const deadline = Date.now() + 300;
    const started = performance.now();
    const failed = (await call("slow", deadline)) as grpc.ServiceError;
    expect(failed.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(performance.now() - started).toBeLessThan(300 + 250);
    // On open connections the backend's deadline is the client's. grpc-timeout is relative, so the
    // time the head spends between the client and the proxy (ms on a busy machine) is not seen.
    expect(a.deadlines[1]).toBeLessThanOrEqual(deadline + 50);
  });

  it("drops a malformed grpc-timeout, which a gRPC server would refuse, and serves the call without a deadline", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { port } = await startGrpcProxy({ balancer: h2Pool([a.address]) }, cleanups);
    for (const value of ["soon", "123456789m", "1.5S"]) {
      const reply = await rawSay(port, cleanups, { "grpc-timeout": value });
      expect(reply.trailers?.["grpc-status"], value).toBe("0");
      expect(reply.body.subarray(5).toString()).toContain("hello");
    }
    expect(a.deadlines).toEqual([Infinity, Infinity, Infinity]);
  });

  it("answers a call whose deadline has already passed without reaching a backend", async () => {
    const a = await startGrpcServer("a", cleanups);
    const { port } = await startGrpcProxy({ balancer: h2Pool([a.address]) }, cleanups);
    const reply = await rawSay(port, cleanups, { "grpc-timeout": "0S" });
    expect(reply.headers["grpc-status"]).toBe("4");
    expect(a.deadlines).toEqual([]);
  });
});
