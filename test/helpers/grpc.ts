/**
 * gRPC on both ends of the proxy with @grpc/grpc-js, for the gRPC tests: the
 * Echo service of fixtures/echo.proto (and grpc.health.v1) served on
 * 127.0.0.1 with an OS-chosen port, over TLS when given a certificate, and
 * an Echo client; an h2c proxy to a pool speaking h2, and a Say call sent by
 * hand over node:http2 for what a gRPC client cannot send or show. Servers,
 * proxies and clients go on the test's cleanup list.
 */
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { type CheckedBalancerOptions, createBalancer } from "../../src/balancer/balancer.js";
import { HttpProxy, type HttpProxyOptions } from "../../src/proxy/http-proxy.js";
import type { CertificateFiles } from "../../src/proxy/tls-certificates.js";
import type { Cleanups } from "./fixtures.js";
import { type H2Response, h2request } from "./http2-client.js";
import { LOCALHOST } from "./servers.js";

export interface Note {
  text?: string;
  server?: string;
  count?: number;
}

type Callback = (error: grpc.ServiceError | null, reply?: Note) => void;

export interface EchoClient extends grpc.Client {
  Say(note: Note, callback: Callback): grpc.ClientUnaryCall;
  Say(note: Note, options: grpc.CallOptions, callback: Callback): grpc.ClientUnaryCall;
  Say(note: Note, metadata: grpc.Metadata, callback: Callback): grpc.ClientUnaryCall;
  Repeat(note: Note): grpc.ClientReadableStream<Note>;
  Gather(callback: Callback): grpc.ClientWritableStream<Note>;
}

const fixtures = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures");
const proto = grpc.loadPackageDefinition(
  protoLoader.loadSync([join(fixtures, "echo.proto"), join(fixtures, "health.proto")]),
) as unknown as {
  switchyard: { test: { Echo: grpc.ServiceClientConstructor } };
  grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
};
const Echo = proto.switchyard.test.Echo;
const Health = proto.grpc.health.v1.Health;

export interface GrpcBackend {
  server: grpc.Server;
  address: string;
  /** What its grpc.health.v1 service answers, by service name ("" for the server). */
  health: Map<string, string>;
  /** The deadline of each Say call it got, as grpc-js read it from grpc-timeout (epoch ms; Infinity: none). */
  deadlines: number[];
}

/** How long Say takes to answer "slow" (unless the call is cancelled first). */
export const SLOW_SAY_MS = 2_000;

/**
 * A gRPC server named `name` on 127.0.0.1, over TLS with `certificate` when
 * given, with the Echo service (Say answers "fail" with FAILED_PRECONDITION
 * and "slow" after SLOW_SAY_MS) and a health service that knows "" and
 * "echo" (both SERVING until changed).
 */
export async function startGrpcServer(
  name: string,
  cleanups: Cleanups,
  certificate?: CertificateFiles,
): Promise<GrpcBackend> {
  const server = new grpc.Server();
  const health = new Map([
    ["", "SERVING"],
    ["echo", "SERVING"],
  ]);
  server.addService(Health.service, {
    Check(call: grpc.ServerUnaryCall<{ service?: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
      // proto3 leaves an empty service out of the message.
      const status = health.get(call.request.service ?? "");
      if (status === undefined) callback({ code: grpc.status.NOT_FOUND, details: "unknown service" });
      else callback(null, { status });
    },
  });
  const deadlines: number[] = [];
  server.addService(Echo.service, {
    Say(call: grpc.ServerUnaryCall<Note, Note>, callback: grpc.sendUnaryData<Note>) {
      const deadline = call.getDeadline();
      deadlines.push(deadline instanceof Date ? deadline.getTime() : deadline);
      const text = call.request.text;
      if (text === "fail") {
        callback({ code: grpc.status.FAILED_PRECONDITION, details: `refused by ${name}` });
      } else if (text === "slow") {
        const timer = setTimeout(() => callback(null, { text, server: name }), SLOW_SAY_MS);
        call.on("cancelled", () => clearTimeout(timer));
      } else {
        callback(null, { text, server: name });
      }
    },
    Repeat(call: grpc.ServerWritableStream<Note, Note>) {
      for (let i = 1; i <= (call.request.count ?? 0); i++)
        call.write({ text: call.request.text, server: name, count: i });
      call.end();
    },
    Gather(call: grpc.ServerReadableStream<Note, Note>, callback: grpc.sendUnaryData<Note>) {
      const texts: string[] = [];
      call.on("data", (note: Note) => texts.push(note.text ?? ""));
      call.on("end", () => callback(null, { text: texts.join(","), server: name, count: texts.length }));
    },
  });
  const credentials =
    certificate === undefined
      ? grpc.ServerCredentials.createInsecure()
      : grpc.ServerCredentials.createSsl(null, [
          { cert_chain: readFileSync(certificate.cert), private_key: readFileSync(certificate.key) },
        ]);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${LOCALHOST}:0`, credentials, (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  let stopped = false;
  cleanups.push(() =>
    stopped ? undefined : new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  );
  return {
    server: Object.assign(server, {
      forceShutdown: ((shutdown) => () => {
        stopped = true;
        shutdown();
      })(server.forceShutdown.bind(server)),
    }),
    address: `${certificate === undefined ? "http" : "https"}://${LOCALHOST}:${port}`,
    health,
    deadlines,
  };
}

/** An Echo client of the proxy on `port`, over TLS trusting `ca` (a certificate for "localhost") when given. */
export function echoClient(port: number, cleanups: Cleanups, ca?: string): EchoClient {
  const credentials =
    ca === undefined ? grpc.credentials.createInsecure() : grpc.credentials.createSsl(readFileSync(ca));
  const options = ca === undefined ? {} : { "grpc.ssl_target_name_override": "localhost" };
  const made = new Echo(`${LOCALHOST}:${port}`, credentials, options) as unknown as EchoClient;
  cleanups.push(async () => made.close());
  return made;
}

/** A unary Say call; rejects with the call's ServiceError. */
export function say(echo: EchoClient, text: string): Promise<Note> {
  return new Promise((resolve, reject) =>
    echo.Say({ text }, (error, reply) => (error ? reject(error) : resolve(reply as Note))),
  );
}

/** The ServiceError a Say call ends with; throws when it succeeds. */
export async function sayFailure(echo: EchoClient, text: string): Promise<grpc.ServiceError> {
  const reply = await say(echo, text).catch((error: grpc.ServiceError) => error);
  if (reply instanceof Error) return reply as grpc.ServiceError;
  throw new Error(`the call succeeded: ${JSON.stringify(reply)}`);
}

/** A pool speaking h2 to `addresses`, without the breaker and outlier detection (each failure stays visible). */
export function h2Pool(addresses: readonly string[], options: Partial<CheckedBalancerOptions> = {}) {
  return createBalancer({
    backends: addresses.map((address) => ({ address })),
    backendProtocol: "h2",
    circuitBreaker: false,
    outlierDetection: false,
    ...options,
  });
}

/** An h2c proxy with `options`. */
export async function startGrpcProxy(
  options: HttpProxyOptions,
  cleanups: Cleanups,
): Promise<{ proxy: HttpProxy; port: number }> {
  const proxy = new HttpProxy({ h2c: true, ...options });
  const { port } = await proxy.listen();
  cleanups.push(() => proxy.close(200));
  return { proxy, port };
}

/** One length-prefixed gRPC message: Note { text }. */
export function noteFrame(text: string): Buffer {
  const note = Buffer.from([0x0a, text.length, ...Buffer.from(text)]);
  const frame = Buffer.alloc(5 + note.length);
  frame.writeUInt32BE(note.length, 1);
  note.copy(frame, 5);
  return frame;
}

/** A Say call ("hello") sent by hand over node:http2, with `fields` besides (content-type default application/grpc). */
export function rawSay(
  port: number,
  cleanups: Cleanups,
  fields: http2.OutgoingHttpHeaders = {},
): Promise<H2Response> {
  const session = http2.connect(`http://${LOCALHOST}:${port}`);
  session.on("error", () => {});
  cleanups.push(async () => session.destroy());
  const head = {
    ":method": "POST",
    ":path": "/switchyard.test.Echo/Say",
    "content-type": "application/grpc",
    te: "trailers",
    ...fields,
  };
  return h2request(session, head, noteFrame("hello"));
}
