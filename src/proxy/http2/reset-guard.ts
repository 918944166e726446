/**
 * Rapid-reset protection (CVE-2023-44487) for one HTTP/2 session. A client
 * that opens streams and cancels them at once makes the proxy start (and
 * abandon) a backend request per stream while never holding a stream open,
 * so the concurrent-stream limit does not stop it. The guard keeps the times
 * of the client's last `maxResets` resets in a ring: one more while the
 * oldest of them is under `windowMs` old is more than `maxResets` in the
 * window, and the session is cut off. The ring is allocated at the first
 * reset, so well-behaved sessions never pay for it.
 */
export class ResetGuard {
  readonly #maxResets: number;
  readonly #windowMs: number;
  #times: Float64Array | undefined = undefined;
  #next = 0;
  #count = 0;

  constructor(maxResets: number, windowMs: number) {
    this.#maxResets = maxResets;
    this.#windowMs = windowMs;
  }

  /** Counts a reset at `now` (ms); true when that makes more than `maxResets` within the window. */
  record(now: number): boolean {
    this.#times ??= new Float64Array(this.#maxResets);
    const times = this.#times;
    if (this.#count < this.#maxResets) this.#count++;
    else if (now - (times[this.#next] as number) < this.#windowMs) return true;
    times[this.#next] = now;
    this.#next = (this.#next + 1) % this.#maxResets;
    return false;
  }
}
