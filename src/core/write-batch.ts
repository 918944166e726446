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

/** Marks a held stream, so holding it again costs one property read. */
const HELD = Symbol("writes held");
type Holdable = Writable & { [HELD]?: boolean };

/**
 * The streams corked in this phase, in the order they were first held, in an
 * array reused from phase to phase. A module-level Set cleared every phase
 * made V8 allocate each new backing table in the old generation, where the
 * Set itself lives: about 100 bytes of old-generation garbage per request,
 * left for full collections to sweep.
 */
const held: (Holdable | undefined)[] = [];
let heldCount = 0;

function sendHeld(): void {
  // A stream held while this runs (an uncork can lead to more writes) is appended, and visited too.
  for (let i = 0; i < heldCount; i++) {
    const stream = held[i];
    if (stream === undefined) continue;
    held[i] = undefined;
    stream[HELD] = false;
    stream.uncork();
  }
  heldCount = 0;
}

/** Corks `stream` until the end of this I/O phase; a stream already held stays as it is. */
export function holdWrites(stream: Holdable): void {
  if (stream[HELD] === true) return;
  stream[HELD] = true;
  stream.cork();
  held[heldCount++] = stream;
  if (heldCount === 1) setImmediate(sendHeld);
}

/** Sends what `stream` holds now: call before destroying a stream whose last writes must not be lost. */
export function sendHeldNow(stream: Holdable): void {
  if (stream[HELD] !== true) return;
  held[held.indexOf(stream)] = undefined;
  stream[HELD] = false;
  stream.uncork();
}
