/**
 * A new connection's wait for its PROXY protocol header (proxy-protocol.ts),
 * on a listener that takes one. Once the header is whole, the connection it
 * names is made the socket's own view (`adoptConnection`):
 * `remoteAddress`/`remotePort` are the client's and `localAddress`/`localPort`
 * the address it connected to, so everything that reads them (routing, rate
 * limits, forwarded headers, access logs, HTTP/2 sessions, a PROXY header sent
 * on) sees the client and not the proxy in front, with no second path for the
 * address to travel.
 */
import net from "node:net";
import type { Logger } from "../observability/logger.js";
import { type ProxiedConnection, readProxyHeader } from "./proxy-protocol.js";

const EMPTY = Buffer.alloc(0);

export class ProxyHeaderWait {
  readonly #socket: net.Socket;
  readonly #logger: Logger;
  readonly #onHeader: (rest: Buffer, connection: ProxiedConnection | undefined) => void;
  #bytes: Buffer = EMPTY;
  #timer: NodeJS.Timeout | undefined;

  /**
   * Waits up to `timeoutMs` for the header (the socket is destroyed after
   * that, on a malformed header, or on the client's FIN before it). Then
   * `onHeader` gets the bytes that came after it, a copy that may be empty,
   * and the connection the header named (undefined: it named none, the
   * socket's own addresses stand).
   */
  constructor(
    socket: net.Socket,
    timeoutMs: number,
    logger: Logger,
    onHeader: (rest: Buffer, connection: ProxiedConnection | undefined) => void,
  ) {
    this.#socket = socket;
    this.#logger = logger;
    this.#onHeader = onHeader;
    this.#timer = setTimeout(this.#timedOut, timeoutMs, timeoutMs);
    this.#timer.unref();
    socket.once("end", this.#ended);
    socket.once("close", this.#stop);
  }

  /** True while the header is still awaited. */
  get waiting(): boolean {
    return this.#timer !== undefined;
  }

  /** The client's next bytes (read them before they are overwritten: they are copied when kept). */
  push(chunk: Buffer): void {
    if (!this.waiting) return;
    const bytes = this.#bytes.length === 0 ? chunk : Buffer.concat([this.#bytes, chunk]);
    const read = readProxyHeader(bytes);
    if (read.status === "incomplete") {
      this.#bytes = bytes === chunk ? Buffer.from(chunk) : bytes;
      return;
    }
    this.#stop();
    if (read.status === "invalid") {
      this.#refuse(read.reason);
      return;
    }
    this.#onHeader(
      read.length < bytes.length ? Buffer.from(bytes.subarray(read.length)) : EMPTY,
      read.connection,
    );
  }

  #stop = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#bytes = EMPTY;
    this.#socket.off("end", this.#ended);
    this.#socket.off("close", this.#stop);
  };

  #refuse(reason: string): void {
    this.#stop();
    this.#logger.warn(
      { client: this.#socket.remoteAddress, reason },
      "no valid PROXY protocol header; closing connection",
    );
    this.#socket.destroy();
  }

  #timedOut = (timeoutMs: number): void => this.#refuse(`no PROXY protocol header within ${timeoutMs} ms`);

  #ended = (): void => this.#refuse("the connection ended before its PROXY protocol header");
}

/**
 * Makes the socket report the proxied connection's ends as its own. (A raw
 * connection under TLS is left as it is: the TLS socket over it reads its
 * peer from the TCP handle, and takes the named client once secured.)
 */
export function adoptConnection(socket: net.Socket, connection: ProxiedConnection): void {
  Object.defineProperties(socket, {
    remoteAddress: { value: connection.sourceAddress, configurable: true },
    remotePort: { value: connection.sourcePort, configurable: true },
    remoteFamily: { value: net.isIPv6(connection.sourceAddress) ? "IPv6" : "IPv4", configurable: true },
    localAddress: { value: connection.destinationAddress, configurable: true },
    localPort: { value: connection.destinationPort, configurable: true },
  });
}
