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
import type http2 from "node:http2";
import type { Backend } from "../core/backend.js";
import { BackendHttp2Client, type Http2Answer } from "../core/backend-http2-client.js";
import type { UpstreamTls } from "../core/upstream-tls.js";
import type { CheckOutcome, HealthCheck } from "./check.js";

const CHECK_PATH = "/grpc.health.v1.Health/Check";
/** HealthCheckResponse.ServingStatus, by number. */
const SERVING_STATUSES = ["UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"];
/** Answers are a few bytes; anything past this is not one. */
const ANSWER_LIMIT = 1024;
const HEADERS: http2.OutgoingHttpHeaders = {
  ":method": "POST",
  ":path": CHECK_PATH,
  "content-type": "application/grpc",
  te: "trailers",
  "user-agent": "switchyard-health-check",
};

export class GrpcHealthCheck implements HealthCheck {
  readonly kind = "grpc";
  readonly #request: Buffer;
  readonly #client: BackendHttp2Client;

  /** `timeoutMs` bounds opening a session as it bounds each check. */
  constructor(service: string | undefined, tls: UpstreamTls, timeoutMs: number) {
    this.#request = checkRequest(service ?? "");
    this.#client = new BackendHttp2Client({ tls, connectTimeoutMs: timeoutMs, abortDestroysSession: true });
  }

  async check(backend: Backend, signal: AbortSignal): Promise<CheckOutcome> {
    const answer = await this.#client.request(backend, HEADERS, {
      signal,
      body: this.#request,
      limit: ANSWER_LIMIT,
    });
    return verdict(answer);
  }

  release(backend: Backend): void {
    this.#client.release(backend);
  }

  async close(): Promise<void> {
    this.#client.close();
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

function verdict({ status: httpStatus, fields, body, truncated }: Http2Answer): CheckOutcome {
  if (httpStatus !== 200) return { ok: false, detail: `HTTP ${httpStatus}` };
  if (truncated) return { ok: false, detail: `an answer over ${ANSWER_LIMIT} bytes` };
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
