/**
 * Sockets that read into one buffer shared by the whole process: the plain
 * HTTP listener's client connections, backend HTTP connections
 * (src/http1/upstream-connection.ts), and both sockets of a TCP tunnel. A socket
 * read the usual way gets a fresh 64 KiB allocation per read, a Buffer over
 * it, a pass through the stream machinery, and later a free by the garbage
 * collector: per request, more work than parsing the head, and at each
 * young-generation collection a third of its pause went to freeing those
 * buffers.
 *
 * Node gives `onread` only to sockets built from options, so the listening
 * handle's connection callback is taken over: each accepted connection's
 * handle goes straight into one socket built with it. (Letting Node build its
 * own socket and moving the handle to a second one cost two socket
 * constructions and a destroy per connection.) Node's server then does not
 * count these connections; the listener tracks them itself. The read callback
 * must use the bytes before it returns, or copy them: the next read of any
 * socket overwrites them.
 */
import net from "node:net";
import { getSystemErrorName } from "node:util";

/** Where every such socket's reads land: valid only inside the read callback. */
export const SHARED_READ_BUFFER = Buffer.allocUnsafe(65_536);

/** An accepted connection's handle, as Node's listening handle hands it over. */
export type ClientHandle = object;

/** The listening handle's callback, called by Node for each accepted connection (status 0) or failed accept. */
type ListeningHandle = { onconnection: (status: number, client?: ClientHandle) => void };

/**
 * Has `server`'s connections (call once it listens) go to `accept` as bare
 * handles instead of sockets in 'connection' events; a failed accept (EMFILE,
 * ...) goes to `failed` with its error code.
 */
export function takeAccepts(
  server: net.Server,
  accept: (client: ClientHandle) => void,
  failed: (code: string) => void,
): void {
  const handle = (server as net.Server & { _handle: ListeningHandle | null })._handle;
  if (handle === null) return;
  handle.onconnection = (status, client) => {
    if (status === 0 && client !== undefined) accept(client);
    else failed(status < 0 ? getSystemErrorName(status) : "no connection handle");
  };
}

/** How a socket over an accepted handle starts (net.Socket's own options). */
export interface SharedReadsOptions {
  /** Keep the write side open after the peer's FIN; default false. */
  allowHalfOpen?: boolean;
  /** Read nothing until `resume()`; default false. */
  pauseOnCreate?: boolean;
}

/**
 * A socket over `client` reading into SHARED_READ_BUFFER and handing `onRead`
 * the byte count (false pauses reading). net calls `onRead` as a method of the
 * socket, so one function can serve every socket (no closure per connection).
 */
export function socketWithSharedReads(
  client: ClientHandle,
  onRead: (this: net.Socket, length: number) => boolean,
  options: SharedReadsOptions = {},
): net.Socket {
  const socketOptions = {
    ...options,
    handle: client,
    readable: true,
    writable: true,
    onread: { buffer: SHARED_READ_BUFFER, callback: onRead },
  } as net.SocketConstructorOpts;
  return new net.Socket(socketOptions);
}
