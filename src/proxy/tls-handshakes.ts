/**
 * A TLS listener's connections between their TCP accept and the end of
 * their TLS handshake. Once the TLS layer has them, net.Server counts them
 * no more, so a listener closing would leave them to the handshake timeout,
 * and one that finished its handshake after close() would still be served:
 * `destroy()` closes them. Each is found again when secured by its peer
 * address (the TLS socket reads it from the same TCP handle), and then takes
 * the client that a PROXY header before the handshake named, if one did.
 */
import type net from "node:net";
import type tls from "node:tls";
import { adoptConnection } from "./proxy-header-wait.js";
import type { ProxiedConnection } from "./proxy-protocol.js";

interface Handshake {
  readonly socket: net.Socket;
  proxied: ProxiedConnection | undefined;
}

export class TlsHandshakes {
  readonly #byPeer = new Map<string, Handshake>();

  /** A TCP connection handed to the TLS server (its 'connection' event). */
  begin = (socket: net.Socket): void => {
    const peer = peerKey(socket);
    if (peer === undefined) return;
    const handshake: Handshake = { socket, proxied: undefined };
    this.#byPeer.set(peer, handshake);
    socket.once("close", () => {
      if (this.#byPeer.get(peer) === handshake) this.#byPeer.delete(peer);
    });
  };

  /** The client a PROXY header before the handshake named, for the TLS socket to report once secured. */
  named(socket: net.Socket, connection: ProxiedConnection): void {
    const peer = peerKey(socket);
    const handshake = peer === undefined ? undefined : this.#byPeer.get(peer);
    if (handshake !== undefined) handshake.proxied = connection;
  }

  /** The handshake is done: the connection is the listener's now (it reports the named client). */
  secured(socket: tls.TLSSocket): void {
    const peer = peerKey(socket);
    const handshake = peer === undefined ? undefined : this.#byPeer.get(peer);
    if (handshake === undefined) return;
    this.#byPeer.delete(peer as string);
    if (handshake.proxied !== undefined) adoptConnection(socket, handshake.proxied);
  }

  /** Closes the connections still in their handshake (the listener is shutting down). */
  destroy(): void {
    for (const { socket } of this.#byPeer.values()) socket.destroy();
    this.#byPeer.clear();
  }
}

/** A connection's peer as its TCP handle reports it. */
function peerKey(socket: net.Socket): string | undefined {
  const { remoteAddress, remotePort } = socket;
  return remoteAddress === undefined ? undefined : `${remoteAddress} ${remotePort}`;
}
