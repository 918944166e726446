/**
 * An HTTP listener's accepts when it sits behind a proxy that opens each
 * connection with a PROXY protocol header (`acceptProxyProtocol`): the header
 * is read off the raw connection first (proxy-header-wait.ts), then a plain
 * connection goes on to HTTP/1.1 (or h2c) with the bytes that followed it,
 * and a TLS one to the TLS server, the bytes after the header put back for
 * its handshake. The TLS socket reads its peer from the TCP handle, not from
 * the raw socket, so the client the header named is set on it again once
 * the handshake is done, found by the raw connection's own peer address.
 */
import net from "node:net";
import type tls from "node:tls";
import { type ClientHandle, SHARED_READ_BUFFER, socketWithSharedReads } from "../core/shared-reads.js";
import type { Logger } from "../observability/logger.js";
import { readIntoConnection } from "./http1/client-connection.js";
import { adoptConnection, ProxyHeaderWait } from "./proxy-header-wait.js";
import type { ProxiedConnection } from "./proxy-protocol.js";

const WAIT = Symbol("PROXY header wait");
type WaitingSocket = net.Socket & { [WAIT]?: ProxyHeaderWait | undefined };

export class ProxyProtocolAccepts {
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  /** Sockets whose header has not come yet: closed by `destroy()`. */
  readonly #waiting = new Set<net.Socket>();
  /** TLS connections in their handshake, by the raw connection's peer: the client their header named. */
  readonly #handshaking = new Map<string, ProxiedConnection>();

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
    socket[WAIT] = this.#wait(socket, (rest) => {
      socket[WAIT] = undefined;
      ready(socket, rest);
    });
  }

  /** A connection to a TLS listener: the header, then the TLS server takes it. */
  tls(client: ClientHandle, server: tls.Server): void {
    const socket = new net.Socket({
      handle: client,
      readable: true,
      writable: true,
    } as net.SocketConstructorOpts);
    const peer = peerKey(socket);
    const onData = (chunk: Buffer): void => wait.push(chunk);
    const wait = this.#wait(socket, (rest, connection) => {
      if (connection !== undefined && peer !== undefined) {
        this.#handshaking.set(peer, connection);
        socket.once("close", () => this.#handshaking.delete(peer));
      }
      socket.off("data", onData);
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      server.emit("connection", socket);
    });
    socket.on("data", onData);
  }

  /** Once a TLS handshake is done: the socket reports the client its header named. */
  secured(socket: tls.TLSSocket): void {
    const peer = peerKey(socket);
    const connection = peer === undefined ? undefined : this.#handshaking.get(peer);
    if (connection === undefined) return;
    this.#handshaking.delete(peer as string);
    adoptConnection(socket, connection);
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

/** The raw connection's peer, read from the TCP handle before any header is adopted. */
function peerKey(socket: net.Socket): string | undefined {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined ? undefined : `${remoteAddress} ${remotePort}`;
}

function ignore(): void {}
