/**
 * The keep-alive connections to one backend, after HAProxy's `maxconn` and
 * server queue: at most `maxConnections` open at once (0: no limit); a request
 * that finds them all busy waits in a FIFO queue and takes the next connection
 * released, or fails with QUEUE_TIMEOUT after `queueTimeoutMs` without ever
 * reaching the backend (so the exchange may send it elsewhere). Idle
 * connections are reused most-recent first (the least likely to have been
 * closed by the backend's own keep-alive timer) and close after
 * `idleTimeoutMs`; a request that could not be sent again is not put on one
 * idle long enough for that timer to be closing it. `close()` lets requests
 * in flight and queued finish, then resolves; `destroy()` fails them at
 * once. The pool totals the bytes its connections wrote and read, the closed
 * ones included, read at a scrape from the sockets' own counters (nothing
 * counted per chunk).
 *
 * One timer, running while a connection is open, sweeps every connection's
 * timeouts (a timer per socket would cost a timer set-up per request phase).
 * It sweeps a few times per shortest timeout in force: a request sent with a
 * headers timeout shorter than the pool's makes it sweep more often, until no
 * connection has needed that for a longer period.
 */

import { performance } from "node:perf_hooks";
import { sweepPeriod } from "./sweep-period.js";
import {
  type ConnectionAttempt,
  type ConnectionOwner,
  UpstreamConnection,
  type UpstreamConnectionOptions,
} from "./upstream-connection.js";
import { poolClosedError, type UpstreamHandler, type UpstreamRequest } from "./upstream-handler.js";
import { WaitQueue } from "./wait-queue.js";

export interface ConnectionPoolOptions extends Omit<UpstreamConnectionOptions, "host" | "port"> {
  /** Most connections open at once; 0 for no limit. */
  maxConnections: number;
  /** How long a request waits for a connection when all are busy, in ms. */
  queueTimeoutMs: number;
}

/** One request's stay in the pool: queued, then carried by a connection. */
class PoolAttempt implements ConnectionAttempt {
  readonly request: UpstreamRequest;
  readonly handler: UpstreamHandler;
  readonly pool: ConnectionPool;
  connection: UpstreamConnection | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  ended = false;

  constructor(pool: ConnectionPool, request: UpstreamRequest, handler: UpstreamHandler) {
    this.pool = pool;
    this.request = request;
    this.handler = handler;
  }

  abort = (error?: Error): void => {
    if (this.ended) return;
    const reason = error ?? new Error("the request was aborted");
    if (this.connection !== undefined) this.connection.abort(this, reason);
    else this.pool._dequeue(this, reason);
  };
}

export class ConnectionPool implements ConnectionOwner {
  readonly #options: Readonly<ConnectionPoolOptions>;
  /** What every connection of the pool is opened with: one object, so reading it stays a monomorphic load. */
  readonly #connectionOptions: Readonly<UpstreamConnectionOptions>;
  readonly #idle: UpstreamConnection[] = [];
  readonly #queue: WaitQueue<PoolAttempt>;
  /** Every open connection, for destroy(). */
  readonly #all = new Set<UpstreamConnection>();
  /** Connections open (connecting, busy or idle). */
  #open = 0;
  /** Bytes of the connections already closed. */
  #closedWritten = 0;
  #closedRead = 0;
  #closing = false;
  #onSettled: (() => void) | undefined = undefined;
  /** The shortest of the pool's own timeouts, in ms. */
  readonly #shortestTimeoutMs: number;
  /** Sweeps the connections' timeouts while one is open. */
  #sweeper: NodeJS.Timeout | undefined = undefined;
  #sweepPeriodMs = 0;
  /** When a sweep last found the current period needed, or it was set (performance.now()). */
  #periodNeededAt = 0;

  constructor(host: string, port: number, options: Readonly<ConnectionPoolOptions>) {
    this.#options = options;
    this.#connectionOptions = { ...options, host, port };
    this.#shortestTimeoutMs = Math.min(
      options.connectTimeoutMs,
      options.headersTimeoutMs,
      options.bodyTimeoutMs,
      options.idleTimeoutMs,
    );
    this.#queue = new WaitQueue(options.queueTimeoutMs, (attempt, error) => {
      this.#end(attempt, error);
      this.#settle();
    });
  }

  /** Connections open now. */
  get open(): number {
    return this.#open;
  }

  /** Connections open and waiting for a request. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Bytes written to the backend since the pool opened. */
  get bytesWritten(): number {
    let total = this.#closedWritten;
    for (const connection of this.#all) total += connection.bytesWritten;
    return total;
  }

  /** Bytes read from the backend since the pool opened. */
  get bytesRead(): number {
    let total = this.#closedRead;
    for (const connection of this.#all) total += connection.bytesRead;
    return total;
  }

  /** Sends `request` on a free connection, a new one, or after a wait in the queue. */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    const attempt = new PoolAttempt(this, request, handler);
    handler.onConnect(attempt.abort);
    if (attempt.ended) return;
    if (this.#closing) {
      this.#end(attempt, poolClosedError());
      return;
    }
    const idle = this.#takeIdle(request);
    if (idle !== undefined) this.#send(idle, attempt);
    else if (this.#mayOpen()) this.#send(this.#connect(), attempt);
    else this.#queue.push(attempt);
  }

  /** Lets requests in flight and queued finish, closes idle connections; resolves when none is open. */
  close(): Promise<void> {
    this.#closing = true;
    for (const connection of this.#idle.splice(0)) connection.destroy(poolClosedError());
    if (this.#open === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onSettled = resolve;
    });
  }

  /** Fails queued requests and closes every connection now. */
  destroy(): void {
    this.#closing = true;
    const error = poolClosedError();
    for (const attempt of this.#queue.takeAll()) this.#end(attempt, error);
    this.#idle.length = 0;
    for (const connection of [...this.#all]) connection.destroy(error);
    this.#stopSweeping();
  }

  // ConnectionOwner --------------------------------------------------------

  /** @internal */
  released(connection: UpstreamConnection): void {
    const next = this.#queue.shift();
    if (next !== undefined) this.#send(connection, next);
    else if (this.#closing) connection.destroy(poolClosedError());
    else this.#idle.push(connection);
  }

  /** @internal */
  closed(connection: UpstreamConnection): void {
    this.#open--;
    this.#all.delete(connection);
    this.#closedWritten += connection.bytesWritten;
    this.#closedRead += connection.bytesRead;
    const at = this.#idle.indexOf(connection);
    if (at >= 0) this.#idle.splice(at, 1);
    // A slot freed: the oldest waiter gets a new connection.
    if (this.#queue.length > 0 && !this.#closing)
      this.#send(this.#connect(), this.#queue.shift() as PoolAttempt);
    if (this.#open === 0) this.#stopSweeping();
    this.#settle();
  }

  /** @internal A queued attempt was aborted. */
  _dequeue(attempt: PoolAttempt, error: Error): void {
    this.#queue.remove(attempt);
    this.#end(attempt, error);
    this.#settle();
  }

  // ------------------------------------------------------------------------

  /**
   * The newest idle connection, unless `request` cannot be sent again and
   * that connection sat idle long enough for its backend to be closing it:
   * then none, so the request gets a new connection while the limit allows.
   */
  #takeIdle(request: UpstreamRequest): UpstreamConnection | undefined {
    const newest = this.#idle.at(-1);
    if (newest === undefined) return undefined;
    if (request.resendable === false && newest.mayBeClosing && this.#mayOpen()) return undefined;
    return this.#idle.pop();
  }

  #mayOpen(): boolean {
    return this.#options.maxConnections === 0 || this.#open < this.#options.maxConnections;
  }

  #connect(): UpstreamConnection {
    this.#open++;
    const connection = new UpstreamConnection(this.#connectionOptions, this);
    this.#all.add(connection);
    if (this.#sweeper === undefined) this.#sweepEvery(sweepPeriod(this.#shortestTimeoutMs));
    return connection;
  }

  #send(connection: UpstreamConnection, attempt: PoolAttempt): void {
    const timeoutMs = attempt.request.headersTimeoutMs;
    if (timeoutMs !== undefined && sweepPeriod(timeoutMs) < this.#sweepPeriodMs) {
      this.#sweepEvery(sweepPeriod(timeoutMs));
    }
    connection.send(attempt);
  }

  #sweep = (): void => {
    const now = performance.now();
    let shortest = this.#shortestTimeoutMs;
    for (const connection of this.#all) {
      const timeoutMs = connection._sweep(now);
      if (timeoutMs < shortest) shortest = timeoutMs;
    }
    // Stopped by what a timeout set off (a destroy()): stay stopped.
    if (this.#sweeper === undefined) return;
    // A longer period again once the shorter one has gone unneeded for that long.
    const periodMs = sweepPeriod(shortest);
    if (periodMs <= this.#sweepPeriodMs) this.#periodNeededAt = now;
    else if (now - this.#periodNeededAt >= periodMs) this.#sweepEvery(periodMs);
  };

  #sweepEvery(periodMs: number): void {
    clearInterval(this.#sweeper);
    this.#sweepPeriodMs = periodMs;
    this.#periodNeededAt = performance.now();
    // Never what keeps the process alive: the sockets are.
    this.#sweeper = setInterval(this.#sweep, periodMs);
    this.#sweeper.unref();
  }

  #stopSweeping(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#sweepPeriodMs = 0;
  }

  #end(attempt: PoolAttempt, error: Error): void {
    attempt.ended = true;
    attempt.handler.onError(error);
  }

  #settle(): void {
    if (this.#onSettled !== undefined && this.#open === 0 && this.#queue.length === 0) this.#onSettled();
  }
}
