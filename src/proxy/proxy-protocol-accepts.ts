/**
 * An HTTP listener's accepts when it sits behind a proxy that opens each
 * connection with a PROXY protocol header (`acceptProxyProtocol`): the header
 * is read off the raw connection first (proxy-header-wait.ts), then a plain
 * connection goes on to HTTP/1.1 (or h2c) with the bytes that followed it,
 * reporting the client the header named, and a TLS one to the TLS server, the
 * bytes after the header put back for its handshake; the TLS socket takes the
 * named client once secured (tls-handshakes.ts).
 */
import net from "node:net";
import type tls from "node:tls";
import { type ClientHandle, SHARED_READ_BUFFER, socketWithSharedReads } from "../core/shared-reads.js";
import type { Logger } from "../observability/logger.js";
import { readIntoConnection } from "./http1/client-connection.js";
import { adoptConnection, ProxyHeaderWait } from "./proxy-header-wait.js";
import type { ProxiedConnection } from "./proxy-protocol.js";
import type { TlsHandshakes } from "./tls-handshakes.js";

const WAIT = Symbol("PROXY header wait");
type WaitingSocket = net.Socket & { [WAIT]?: ProxyHeaderWait | undefined };

export class ProxyProtocolAccepts {
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  /** Sockets whose header has not come yet: closed by `destroy()`. */
  readonly #waiting = new Set<net.Socket>();

  constructor(timeoutMs: number, logger: Logger) {
    this.#timeoutMs = timeoutMs;
    this.#logger = logger;
  }

  /**
   * A plain connection, read into the shared buffer: the header, then the
   * HTTP/1.1 connection's reads. `ready` gets the socket, reporting the
   * client, and the bytes after the header.
   */
  plain(client: ClientHandle, ready: (socket: net.Socket, rest: Buffer) => void): void {
    const socket: WaitingSocket = socketWithSharedReads(client, readHeaderFirst);
    socket[WAIT] = this.#wait(socket, (rest, connection) => {
      socket[WAIT] = undefined;
      if (connection !== undefined) adoptConnection(socket, connection);
      ready(socket, rest);
    });
  }

  /** A connection to a TLS listener: the header, then the TLS server takes it. */
  tls(client: ClientHandle, server: tls.Server, handshakes: TlsHandshakes): void {
    const socket = new net.Socket({
      handle: client,
      readable: true,
      writable: true,
    } as net.SocketConstructorOpts);
    const onData = (chunk: Buffer): void => wait.push(chunk);
    const wait = this.#wait(socket, (rest, connection) => {
      socket.off("data", onData);
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      server.emit("connection", socket);
      if (connection !== undefined) handshakes.named(socket, connection);
    });
    socket.on("data", onData);
  }

  /** Closes the connections still waiting for their header (the listener is shutting down). */
  destroy(): void {
    for (const socket of this.#waiting) socket.destroy();
  }

  #wait(
    socket: net.Socket,
    ready: (rest: Buffer, connection: ProxiedConnection | undefined) => void,
  ): ProxyHeaderWait {
    // The connection's own handlers come later; a reset before then is nobody's concern.
    socket.on("error", ignore);
    this.#waiting.add(socket);
    socket.once("close", () => this.#waiting.delete(socket));
    return new ProxyHeaderWait(socket, this.#timeoutMs, this.#logger, (rest, connection) => {
      this.#waiting.delete(socket);
      ready(rest, connection);
    });
  }
}

/** A plain socket's shared-read callback: the PROXY header's wait while it lasts, then the connection's. */
function readHeaderFirst(this: WaitingSocket, length: number): boolean {
  const wait = this[WAIT];
  if (wait === undefined) return readIntoConnection.call(this, length);
  wait.push(SHARED_READ_BUFFER.subarray(0, length));
  return true;
}

function ignore(): void {}
