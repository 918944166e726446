/**
 * Client sockets that read into one buffer shared by every plain-HTTP client
 * connection of the process, as the backend sockets do (src/http1/upstream-connection.ts).
 * A socket read the usual way gets a fresh 64 KiB allocation per read, a
 * Buffer over it, a pass through the stream machinery, and later a free by
 * the garbage collector: per request, more work than parsing the head, and
 * at each young-generation collection a third of its pause went to freeing
 * those buffers.
 *
 * Node gives `onread` only to sockets built from options, so a connection
 * accepted paused (`pauseOnConnect`) has its handle moved to a new socket
 * built with it, and the accepted one is dropped (which also takes it out of
 * the server's count; the listener tracks its connections itself). The
 * callback must use the bytes before it returns, or copy them: the next read
 * of any connection overwrites them.
 */
import net from "node:net";

/** Where every adopted socket's reads land: valid only inside the read callback. */
export const CLIENT_READ_BUFFER = Buffer.allocUnsafe(65_536);

/** A socket's handle, which `net.Socket` takes as an option (how Node itself wraps accepted connections). */
type WithHandle = net.Socket & { _handle: object | null };

/**
 * The accepted (paused) socket's connection, now reading into
 * CLIENT_READ_BUFFER and handing `onRead` the byte count (false pauses
 * reading). Undefined when the connection is already gone.
 */
export function adoptWithSharedReads(
  accepted: net.Socket,
  onRead: (length: number) => boolean,
): net.Socket | undefined {
  const handle = (accepted as WithHandle)._handle;
  if (handle === null || accepted.destroyed) return undefined;
  (accepted as WithHandle)._handle = null;
  accepted.destroy();
  const options = {
    handle,
    readable: true,
    writable: true,
    onread: { buffer: CLIENT_READ_BUFFER, callback: onRead },
  } as net.SocketConstructorOpts;
  return new net.Socket(options);
}
