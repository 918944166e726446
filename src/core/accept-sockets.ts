/**
 * A listener's port served by several listening sockets (SO_REUSEPORT), so
 * that more than one new connection is accepted per event-loop turn. libuv
 * accepts one connection per listening socket per turn (libuv#3696), and a
 * proxy under load turns about once a millisecond: a burst of 64 new clients
 * waited up to 64 turns to be accepted, 50–120 ms, and the first requests of
 * the last ones set the p99 of a short run. HAProxy accepts up to 64 per
 * wake-up (tune.maxaccept). Here each turn accepts one per socket; the kernel
 * spreads new connections over the sockets, and the extra sockets hand theirs
 * to the main server's 'connection' listeners (or to whatever `onBound` sets
 * up on every socket), so the rest of the proxy sees one server.
 *
 * Node binds SO_REUSEPORT from 22.12 on Linux; elsewhere, and in a cluster
 * worker (whose listen the primary shares), one socket is used. The port is
 * first bound once without SO_REUSEPORT and released, so a port another
 * process holds still fails with EADDRINUSE instead of being shared with it.
 */
import cluster from "node:cluster";
import net from "node:net";
import { ErrorCodes, SwitchyardError } from "./errors.js";
import { type BoundAddress, type ListenLogger, listenOn } from "./listen.js";

/** Listening sockets per listener where SO_REUSEPORT is available. */
export const DEFAULT_ACCEPT_SOCKETS = 8;
export const MAX_ACCEPT_SOCKETS = 64;

/** The `acceptSockets` option, checked: a whole number from 1 to MAX_ACCEPT_SOCKETS; default DEFAULT_ACCEPT_SOCKETS. */
export function acceptSocketCount(value: number | undefined): number {
  const count = value ?? DEFAULT_ACCEPT_SOCKETS;
  if (!Number.isInteger(count) || count < 1 || count > MAX_ACCEPT_SOCKETS) {
    throw new SwitchyardError(
      ErrorCodes.INVALID_OPTIONS,
      `acceptSockets must be a whole number from 1 to ${MAX_ACCEPT_SOCKETS}`,
      { acceptSockets: value },
    );
  }
  return count;
}

/** True where `listen({ reusePort: true })` works: Node ≥ 22.12 (or ≥ 23.1) on Linux, outside cluster workers. */
export function reusePortAvailable(): boolean {
  if (process.platform !== "linux" || cluster.isWorker) return false;
  const [major, minor] = process.versions.node.split(".").map(Number) as [number, number];
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}

export class AcceptSockets {
  readonly #main: net.Server;
  readonly #count: number;
  readonly #onBound: ((server: net.Server) => void) | undefined;
  #extras: net.Server[] = [];

  /**
   * `main`: the server whose 'connection' listeners take every connection
   * (the extra sockets are plain `net` servers with default options).
   * `count`: sockets wanted, main included; 1 where SO_REUSEPORT is not available.
   * `onBound`: called with each server, main and extras, once it listens.
   */
  constructor(main: net.Server, count: number, onBound?: (server: net.Server) => void) {
    this.#main = main;
    this.#count = reusePortAvailable() ? count : 1;
    this.#onBound = onBound;
  }

  /** Sockets bound (after listen) or to be bound. */
  get count(): number {
    return this.#count;
  }

  async listen(host: string, port: number, logger: ListenLogger, what: string): Promise<BoundAddress> {
    if (this.#count === 1) return this.#bind(this.#main, host, port, logger, what, {});
    const errorsOnly: ListenLogger = {
      info() {},
      error: (details, message) => logger.error(details, message),
    };
    // A plain bind first: EADDRINUSE when another process holds the port; for port 0, the kernel's pick.
    const probe = net.createServer();
    const free = await listenOn(probe, host, port, silent, what, { exclusive: true });
    await new Promise((resolve) => probe.close(resolve));
    const shared = { reusePort: true };
    const address = await this.#bind(this.#main, host, free.port, logger, what, shared);
    try {
      for (let i = 1; i < this.#count; i++) {
        const extra = net.createServer((socket) => this.#main.emit("connection", socket));
        this.#extras.push(extra);
        await this.#bind(extra, host, address.port, errorsOnly, what, shared);
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    return address;
  }

  /** Binds one of the sockets, then hands it to `onBound`. */
  async #bind(
    server: net.Server,
    host: string,
    port: number,
    logger: ListenLogger,
    what: string,
    options: { reusePort?: boolean },
  ): Promise<BoundAddress> {
    const address = await listenOn(server, host, port, logger, what, options);
    this.#onBound?.(server);
    return address;
  }

  /** Stops accepting on every socket; resolves once each server has closed (its connections ended). */
  close(): Promise<void> {
    const servers = [this.#main, ...this.#extras];
    this.#extras = [];
    return Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            if (server.listening) server.close(() => resolve());
            else resolve();
          }),
      ),
    ).then(() => undefined);
  }
}

const silent: ListenLogger = { info() {}, error() {} };
