/**
 * Writing a server-sent events stream over node:http, for the admin API
 * (`/api/events`) and the cluster primary's (its merged `/api/events`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AdminStream } from "./admin-context.js";

/** Bytes an event stream may have queued for a client that stopped reading before it is dropped. */
const MAX_STREAM_BACKLOG = 1024 * 1024;

/**
 * Answers with a server-sent events stream that lasts until the client
 * leaves or the source ends it (then the connection closes too). A client
 * too slow to take what is sent is dropped rather than buffered without
 * bound. HEAD gets the headers only.
 */
export function sendEventStream(req: IncomingMessage, res: ServerResponse, stream: AdminStream): void {
  res.shouldKeepAlive = false;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    "x-accel-buffering": "no",
  });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  const leave = stream.open({
    write: (chunk) => {
      if (res.destroyed || res.writableEnded) return;
      if (res.writableLength > MAX_STREAM_BACKLOG) res.destroy();
      else res.write(chunk);
    },
    end: () => res.end(),
  });
  res.once("close", leave);
}
