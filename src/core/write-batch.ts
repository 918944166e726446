/**
 * Writes held until the event loop has handled every read of the current
 * I/O phase, then sent one after another (HAProxy sends at the end of its
 * loop the same way). Sent at once, each write wakes a peer that has gone
 * idle again since the last one: on one host that is a wake-up interrupt to
 * the peer's core per write, which cost the proxy more kernel time than the
 * write itself. Held, a phase's writes reach peers that are still awake.
 * Nothing waits longer than the rest of the current loop iteration.
 */
import type { Writable } from "node:stream";

/** The streams corked in this phase, in the order they were first held. */
const held = new Set<Writable>();

function sendHeld(): void {
  // A stream held while this runs (an uncork can lead to more writes) is visited too.
  for (const stream of held) stream.uncork();
  held.clear();
}

/** Corks `stream` until the end of this I/O phase; a stream already held stays as it is. */
export function holdWrites(stream: Writable): void {
  if (held.has(stream)) return;
  stream.cork();
  if (held.add(stream).size === 1) setImmediate(sendHeld);
}

/** Sends what `stream` holds now: call before destroying a stream whose last writes must not be lost. */
export function sendHeldNow(stream: Writable): void {
  if (held.delete(stream)) stream.uncork();
}
