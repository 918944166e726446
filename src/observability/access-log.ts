/**
 * The structured access log: one pino JSON line per logged request, at info,
 * with `msg: "access"`. Sampling keeps every Nth request (SwarmGuard's
 * LOG_EVERY_N_REQUESTS): `sample: 1` logs each one, `sample: 100` one in a
 * hundred, counted across every listener sharing the log. The proxy calls
 * `record(fields)` when a request's response is over; a request not taken by
 * the sampling costs one decrement. A caller that would rather not build the
 * fields object for requests that are skipped asks `take()` first and then
 * calls `write(fields)`.
 */
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import type { Logger } from "./logger.js";

export const DEFAULT_ACCESS_LOG_SAMPLE = 1;

export interface AccessLogOptions {
  /** Log every Nth request; default 1 (all). */
  sample?: number;
}

/** One request, as the access log line shows it. */
export interface AccessLogFields {
  /** Listener name. */
  listener: string;
  /** HTTP: the listener route that took the request ("default" when none of its routes matched). */
  route?: string;
  /** HTTP: the client's protocol, "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
  protocol?: string;
  method: string | undefined;
  /** Request target as received (path and query). */
  path: string | undefined;
  /** Status sent to the client; 0 when none was (client gone, connection cut). */
  status: number;
  /** From the request's arrival to the end of its response, ms. */
  latencyMs: number;
  /** The backend that answered (the last one tried); undefined when none was chosen. */
  backend: string | undefined;
  /** Attempts sent upstream (1 without retries). */
  attempts: number;
  algorithm: string | undefined;
  /** `SY_ERR_*` code when the proxy answered or cut the request itself. */
  code?: string | undefined;
  clientIp?: string | undefined;
}

export class AccessLog {
  readonly sample: number;
  #logger: Logger;
  #countdown: number;

  /** `logger`: where lines go (the runtime passes a child with `component: "access"`). */
  constructor(logger: Logger, options: AccessLogOptions = {}) {
    const sample = options.sample ?? DEFAULT_ACCESS_LOG_SAMPLE;
    if (!Number.isInteger(sample) || sample < 1) {
      throw new SwitchyardError(
        ErrorCodes.INVALID_OPTIONS,
        "log.access.sample must be a whole number of at least 1",
        { sample },
      );
    }
    this.sample = sample;
    this.#logger = logger;
    this.#countdown = sample;
  }

  /** Counts one request; true when it is the one in `sample` to log. */
  take(): boolean {
    if (--this.#countdown > 0) return false;
    this.#countdown = this.sample;
    return true;
  }

  /** Writes one line, sampling aside. */
  write(fields: AccessLogFields): void {
    this.#logger.info(
      {
        listener: fields.listener,
        route: fields.route,
        protocol: fields.protocol,
        method: fields.method,
        path: fields.path,
        status: fields.status,
        latencyMs: Math.round(fields.latencyMs * 1000) / 1000,
        backend: fields.backend,
        attempts: fields.attempts,
        algorithm: fields.algorithm,
        code: fields.code,
        clientIp: fields.clientIp,
      },
      "access",
    );
  }

  /** Counts one request and logs it when the sampling says so. */
  record(fields: AccessLogFields): void {
    if (this.take()) this.write(fields);
  }
}
