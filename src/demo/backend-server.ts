/**
 * Demo backend for `switchyard backend` and the demo stack: answers any path
 * with a JSON description of the request (which backend, how many requests so
 * far, the forwarding headers it saw), after an injected delay and with an
 * injected failure rate, both changeable live through `/control`
 * (`delay_ms` or `set_delay_ms`, `error_rate`; anything else is refused).
 * `?delay=N` on any other path delays that one request by N ms instead.
 *
 * It answers Prequal's load probes on `/prequal-probe` with its requests in
 * flight (in service and waiting) and its latency estimate at that many, so
 * `algorithm: prequal` balances on the backends' own figures.
 *
 * With `concurrency`, it serves at most that many requests at once and the
 * rest wait their turn, like a server with that many workers: past its
 * capacity (concurrency / delay requests per second) latency grows with the
 * queue instead of the excess being served for free, so load-aware routing
 * is tested against a backend that can actually be overloaded.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { ErrorCodes, SwitchyardError } from "../core/errors.js";
import type { ProbeReply } from "../core/probe.js";
import { ProbeResponder } from "../load/probe-responder.js";

export interface DemoBackendOptions {
  name: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (chosen by the OS; read it back from `listen()`). */
  port?: number;
  /** Delay before every answer, in ms (integer 0..60000); default 0. */
  delayMs?: number;
  /** Probability (0..1) of answering 500; default 0. */
  errorRate?: number;
  /** Uniform random source in [0, 1); default Math.random. */
  random?: () => number;
  /** Requests served at once (1..MAX_DEMO_CONCURRENCY); more wait in arrival order. Default unlimited. */
  concurrency?: number;
}

export const MAX_DEMO_DELAY_MS = 60_000;
export const MAX_DEMO_CONCURRENCY = 100_000;

/** Request headers echoed back, so the proxy's forwarding can be checked. */
const ECHOED_HEADERS = ["x-forwarded-for", "forwarded", "host"] as const;

export class DemoBackend {
  readonly name: string;
  #host: string;
  #port: number;
  #delayMs: number;
  #errorRate: number;
  #random: () => number;
  #requests = 0;
  #server: http.Server;
  #address: { host: string; port: number } | undefined;
  #pending = new Set<NodeJS.Timeout>();
  /** Most requests in service at once; 0 = unlimited. */
  #concurrency: number;
  #inService = 0;
  /** Requests waiting for a free slot, oldest first. */
  #waiting: (() => void)[] = [];
  /** Requests received and not yet answered (in service and waiting), for load probes. */
  #probes = new ProbeResponder();

  constructor(options: DemoBackendOptions) {
    if (!options.name) {
      throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, "a demo backend needs a name", {
        name: options.name,
      });
    }
    this.name = options.name;
    this.#host = options.host ?? "127.0.0.1";
    this.#port = options.port ?? 0;
    this.#delayMs = optionOrThrow(validateDelay(options.delayMs ?? 0), "delayMs");
    this.#errorRate = optionOrThrow(validateErrorRate(options.errorRate ?? 0), "errorRate");
    this.#random = options.random ?? Math.random;
    this.#concurrency =
      options.concurrency === undefined
        ? 0
        : optionOrThrow(validateConcurrency(options.concurrency), "concurrency");
    this.#server = http.createServer((req, res) => this.#handle(req, res));
  }

  listen(): Promise<{ host: string; port: number }> {
    if (this.#address) return Promise.resolve(this.#address);
    return new Promise((resolve, reject) => {
      const server = this.#server;
      server.once("error", reject);
      server.listen(this.#port, this.#host, () => {
        server.off("error", reject);
        const info = server.address() as AddressInfo;
        this.#address = { host: info.address, port: info.port };
        resolve(this.#address);
      });
    });
  }

  get address(): { host: string; port: number } {
    if (!this.#address) throw new Error(`demo backend "${this.name}" is not listening; call listen() first`);
    return this.#address;
  }

  get settings(): { delayMs: number; errorRate: number } {
    return { delayMs: this.#delayMs, errorRate: this.#errorRate };
  }

  /** Requests being served now, and those waiting for a slot (with `concurrency`; clients that left count until their turn). */
  get queue(): { inService: number; waiting: number } {
    return { inService: this.#inService, waiting: this.#waiting.length };
  }

  /** What a load probe is answered: requests in flight and the latency estimate at that many. */
  probe(): ProbeReply {
    return this.#probes.reply();
  }

  /** Stops listening and drops open connections, delayed answers and waiting requests. */
  close(): Promise<void> {
    for (const timer of this.#pending) clearTimeout(timer);
    this.#pending.clear();
    this.#waiting = [];
    const server = this.#server;
    this.#address = undefined;
    if (!server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let bodyBytes = 0;
    req.on("data", (chunk: Buffer) => {
      bodyBytes += chunk.length;
    });
    req.on("error", () => res.destroy());
    req.on("end", () => this.#answer(req, res, bodyBytes));
  }

  #answer(req: http.IncomingMessage, res: http.ServerResponse, bodyBytes: number): void {
    const path = req.url ?? "/";
    const url = new URL(path, "http://demo.invalid");
    if (url.pathname === "/health") {
      send(res, 200, { status: "ok", backend: this.name });
      return;
    }
    if (url.pathname === "/control") {
      this.#control(req, res, url.searchParams);
      return;
    }
    if (this.#probes.answer(req, res)) return;
    const delayText = url.searchParams.get("delay");
    const ownDelay = delayText === null ? undefined : validateDelay(parseNumber(delayText));
    if (typeof ownDelay === "string") {
      send(res, 400, {
        backend: this.name,
        error: `delay ${ownDelay}, got "${delayText}"`,
        parameter: "delay",
      });
      return;
    }
    const requests = ++this.#requests;
    this.#probes.track(res);
    const fail = this.#errorRate > 0 && this.#random() < this.#errorRate;
    const reply = () => {
      if (fail) {
        send(res, 500, { backend: this.name, error: "injected failure" });
        return;
      }
      const headers: Record<string, string> = {};
      for (const name of ECHOED_HEADERS) {
        const value = req.headers[name];
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value;
      }
      send(res, 200, { backend: this.name, method: req.method, path, requests, headers, bodyBytes });
    };
    this.#admit(res, (release) => {
      const delayMs = ownDelay ?? this.#delayMs;
      if (delayMs === 0) {
        reply();
        release();
        return;
      }
      const timer = setTimeout(() => {
        this.#pending.delete(timer);
        reply();
        release();
      }, delayMs);
      this.#pending.add(timer);
      res.on("close", () => {
        clearTimeout(timer);
        this.#pending.delete(timer);
        release();
      });
    });
  }

  /**
   * Runs `serve` now when a slot is free (or there is no limit), else once
   * one frees up, first come first served. `serve` calls `release` when the
   * answer is sent or the client has gone; a request whose client left while
   * waiting is dropped without taking a slot.
   */
  #admit(res: http.ServerResponse, serve: (release: () => void) => void): void {
    if (this.#concurrency === 0) {
      serve(() => {});
      return;
    }
    const start = () => {
      if (res.destroyed) return;
      this.#inService++;
      let released = false;
      serve(() => {
        if (released) return;
        released = true;
        this.#inService--;
        this.#startWaiting();
      });
    };
    this.#waiting.push(start);
    this.#startWaiting();
  }

  #startWaiting(): void {
    while (this.#inService < this.#concurrency && this.#waiting.length > 0) {
      (this.#waiting.shift() as () => void)();
    }
  }

  #control(req: http.IncomingMessage, res: http.ServerResponse, query: URLSearchParams): void {
    if (req.method !== "GET" && req.method !== "POST") {
      res.setHeader("allow", "GET, POST");
      send(res, 405, { backend: this.name, error: "use GET or POST on /control" });
      return;
    }
    const refuse = (parameter: string, error: string) =>
      send(res, 400, { backend: this.name, error, parameter });
    for (const name of new Set(query.keys())) {
      if (name in CONTROLS) continue;
      const hint = name === "delay" ? " (delay delays one request: GET /?delay=N)" : "";
      refuse(name, `unknown control "${name}"${hint}; expected ${Object.keys(CONTROLS).join(", ")}`);
      return;
    }
    if (query.has("delay_ms") && query.has("set_delay_ms")) {
      refuse("set_delay_ms", "set_delay_ms is another name for delay_ms; give one of them");
      return;
    }
    const next = { ...this.settings };
    for (const [name, value] of query) {
      const control = CONTROLS[name as keyof typeof CONTROLS];
      const checked = control.validate(parseNumber(value));
      if (typeof checked === "string") {
        refuse(name, `${name} ${checked}, got "${value}"`);
        return;
      }
      next[control.setting] = checked;
    }
    this.#delayMs = next.delayMs;
    this.#errorRate = next.errorRate;
    send(res, 200, { backend: this.name, ...this.settings });
  }
}

/** What `/control` changes; `set_delay_ms` is the ALPHA1/BETA1 balancer's name for `delay_ms`. */
const CONTROLS = {
  delay_ms: { setting: "delayMs", validate: validateDelay },
  set_delay_ms: { setting: "delayMs", validate: validateDelay },
  error_rate: { setting: "errorRate", validate: validateErrorRate },
} as const;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

/** Empty or non-numeric text becomes NaN, so validation rejects it. */
function parseNumber(text: string): number {
  return text.trim() === "" ? Number.NaN : Number(text);
}

/** The delay, or why it is invalid. */
function validateDelay(value: number): number | string {
  if (!Number.isInteger(value) || value < 0 || value > MAX_DEMO_DELAY_MS) {
    return `must be an integer from 0 to ${MAX_DEMO_DELAY_MS}`;
  }
  return value;
}

/** The concurrency, or why it is invalid. */
function validateConcurrency(value: number): number | string {
  if (!Number.isInteger(value) || value < 1 || value > MAX_DEMO_CONCURRENCY) {
    return `must be an integer from 1 to ${MAX_DEMO_CONCURRENCY}`;
  }
  return value;
}

/** The error rate, or why it is invalid. */
function validateErrorRate(value: number): number | string {
  if (!Number.isFinite(value) || value < 0 || value > 1) return "must be a number from 0 to 1";
  return value;
}

function optionOrThrow(checked: number | string, field: string): number {
  if (typeof checked === "string") {
    throw new SwitchyardError(ErrorCodes.INVALID_OPTIONS, `${field} ${checked}`, { field });
  }
  return checked;
}
