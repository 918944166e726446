/**
 * gRPC health check: the standard `grpc.health.v1.Health/Check` call, which
 * passes only when the backend answers `SERVING` for `service` (empty: the
 * server as a whole). Any other answer, a non-zero `grpc-status` or a broken
 * call fails it. The call's two messages are small enough to write by hand:
 * the request is field 1 (the service name) of a HealthCheckRequest, the
 * answer's field 1 is the status enum, each behind gRPC's five-byte frame
 * prefix. One HTTP/2 session per backend (h2c, or ALPN h2 over TLS with the
 * pool's backend TLS settings), kept between checks and closed when the
 * backend leaves the pool or checking stops.
 */
import http2 from "node:http2";
import { formatHostPort } from "../core/address.js";
import type { Backend } from "../core/backend.js";
import { dialBackend, tlsConnectOptions, type UpstreamTls } from "../core/upstream-tls.js";
import type { CheckOutcome, HealthCheck } from "./check.js";

const CHECK_PATH = "/grpc.health.v1.Health/Check";
/** HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUSES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
/** Answers are a few bytes; anything past this is not one. */
const ANSWER_LIMIT = 1024;

export class GrpcHealthCheck implements HealthCheck {
  readonly kind = "grpc";
  readonly #request: Buffer;
  readonly #tls: UpstreamTls;
  readonly #sessions = new Map<Backend, http2.ClientHttp2Session>();

  constructor(service: string | undefined, tls: UpstreamTls) {
    this.#request = checkRequest(service ?? "");
    this.#tls = tls;
  }

  check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome> {
    const stream = this.#session(backend).request(
      {
        ":method": "POST",
        ":path": CHECK_PATH,
        "content-type": "application/grpc",
        te: "trailers",
        "user-agent": "switchyard-health-check",
      },
      { signal },
    );
    stream.end(this.#request);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let fields: http2.IncomingHttpHeaders = {};
      stream.on("response", (headers) => {
        fields = headers;
      });
      stream.on("trailers", (trailers) => {
        fields = { ...fields, ...trailers };
      });
      stream.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size <= ANSWER_LIMIT) chunks.push(chunk);
        else stream.close(http2.constants.NGHTTP2_CANCEL);
      });
      stream.on("error", reject);
      stream.on("end", () => resolve(verdict(fields, Buffer.concat(chunks))));
      stream.on("close", () =>
        reject(new Error(`the check's stream closed (HTTP/2 error ${stream.rstCode})`)),
      );
    });
  }

  release(backend: Backend): void {
    this.#sessions.get(backend)?.destroy();
    this.#sessions.delete(backend);
  }

  async close(): Promise<void> {
    for (const session of this.#sessions.values()) session.destroy();
    this.#sessions.clear();
  }

  #session(backend: Backend): http2.ClientHttp2Session {
    const open = this.#sessions.get(backend);
    if (open !== undefined && !open.closed && !open.destroyed) return open;
    const tls = tlsConnectOptions(backend, this.#tls, "h2");
    const { socket } = dialBackend(backend.host, backend.port, tls);
    const scheme = tls === undefined ? "http" : "https";
    const session = http2.connect(`${scheme}://${formatHostPort(backend.host, backend.port)}`, {
      createConnection: () => socket,
    });
    // Its streams fail with the error; the next check opens a new session.
    session.on("error", () => {});
    session.on("close", () => {
      if (this.#sessions.get(backend) === session) this.#sessions.delete(backend);
    });
    // Checks come every few seconds: an idle session must not keep the process alive.
    session.unref();
    this.#sessions.set(backend, session);
    return session;
  }
}

/** The framed HealthCheckRequest: `service` as field 1 (none when empty). */
function checkRequest(service: string): Buffer {
  const name = Buffer.from(service, "utf8");
  const message =
    name.length === 0 ? name : Buffer.concat([Buffer.from([0x0a, ...varint(name.length)]), name]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

function verdict(fields: http2.IncomingHttpHeaders, body: Buffer): CheckOutcome {
  // node gives :status as a number, whatever its header type says.
  const httpStatus = fields[":status"] as unknown as number | undefined;
  if (httpStatus !== 200) return { ok: false, detail: `HTTP ${httpStatus ?? "none"}` };
  const grpcStatus = fields["grpc-status"];
  if (grpcStatus !== "0") {
    const message = fields["grpc-message"];
    const text = typeof message === "string" ? `: ${decodeURIComponent(message)}` : "";
    return { ok: false, detail: `grpc-status ${grpcStatus ?? "missing"}${text}` };
  }
  const status = servingStatus(body);
  if (status === undefined) return { ok: false, detail: "malformed HealthCheckResponse" };
  const name = SERVING_STATUSES[status] ?? `status ${status}`;
  return { ok: status === 1, detail: name };
}

/** The `status` (field 1) of one unframed, uncompressed HealthCheckResponse; 0 when absent (proto3). */
function servingStatus(body: Buffer): number | undefined {
  if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) return undefined;
  let status = 0;
  let at = 5;
  while (at < body.length) {
    const tag = readVarint(body, at);
    if (tag === undefined) return undefined;
    at = tag.next;
    const wireType = tag.value & 7;
    if (wireType === 0) {
      const value = readVarint(body, at);
      if (value === undefined) return undefined;
      if (tag.value >> 3 === 1) status = value.value;
      at = value.next;
    } else if (wireType === 2) {
      const length = readVarint(body, at);
      if (length === undefined) return undefined;
      at = length.next + length.value;
    } else if (wireType === 1) at += 8;
    else if (wireType === 5) at += 4;
    else return undefined;
  }
  return at === body.length ? status : undefined;
}

function varint(value: number): number[] {
  const bytes: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return bytes;
}

/** A varint of up to 28 bits (tags, lengths and enums here are small). */
function readVarint(buf: Buffer, start: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let at = start, shift = 0; at < buf.length && shift < 28; at++, shift += 7) {
    const byte = buf[at] as number;
    value |= (byte & 0x7f) << shift;
    if (byte < 0x80) return { value, next: at + 1 };
  }
  return undefined;
}
