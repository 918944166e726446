/**
 * A client's request body, made replayable so a retry can send it again. The
 * body streams to the first attempt as it arrives (no added latency) while a
 * copy of every chunk is kept, up to `limitBytes`; a retry then gets the kept
 * bytes followed by whatever is still to come, or one Buffer when the body is
 * complete. A body declared larger than the limit (Content-Length) goes to
 * the backend connection as the request's own body stream and can be resent
 * only while nothing of it was read; a chunked body that outgrows the limit
 * drops its copy and stops being replayable. Each attempt reads through its
 * own `AttemptBody` stream, so an attempt's connection dropping its body after
 * a failure never touches the client's request; backpressure runs from the
 * attempt's stream back to the client socket (the body is paused while the
 * attempt is full, and between attempts).
 */
import { Readable } from "node:stream";
import { CLIENT_BODY_ABORTED, type ProxyRequest } from "./client-side.js";
import type { RequestBodyStream } from "./http1/client-request.js";

export class RequestBody {
  readonly #req: RequestBodyStream;
  readonly #limit: number;
  /** False when the declared length is over the limit: the request is passed through as is. */
  readonly #buffered: boolean;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #overflowed = false;
  #ended = false;
  #failed = false;
  #listening = false;
  #current: AttemptBody | undefined;

  /** `request` must have a body. */
  constructor(request: ProxyRequest, limitBytes: number) {
    this.#req = request.body as RequestBodyStream;
    this.#limit = limitBytes;
    // A chunked body (-1) starts out kept; it may outgrow the limit later.
    this.#buffered = limitBytes > 0 && request.contentLength <= limitBytes;
  }

  /**
   * Whether a new attempt can send the whole body: nothing of it was read yet,
   * or everything read so far is kept (and the upload did not break off).
   */
  get replayable(): boolean {
    if (!this.#buffered) return !this.#req.readableDidRead;
    return !this.#failed && !this.#overflowed;
  }

  /** Whether the whole body can be kept (no declared length over the limit): a hedge needs that. */
  get keepable(): boolean {
    return this.#buffered;
  }

  /**
   * The whole body, when it has fully arrived and all of it was kept; undefined
   * otherwise. Unlike `forAttempt`, the current attempt's stream is left alone,
   * so a hedge can send the body beside it.
   */
  whole(): Buffer | undefined {
    if (!this.#buffered || !this.#ended || this.#overflowed || this.#failed) return undefined;
    if (this.#chunks.length !== 1) this.#chunks = [Buffer.concat(this.#chunks, this.#bytes)];
    return this.#chunks[0] as Buffer;
  }

  /** The body for the next attempt; call only when `replayable` (or for the first attempt). */
  forAttempt(): Readable | Buffer {
    if (!this.#buffered) return this.#req;
    this.#current?.detach();
    if (this.#ended) {
      this.#current = undefined;
      return this.#chunks.length === 1
        ? (this.#chunks[0] as Buffer)
        : Buffer.concat(this.#chunks, this.#bytes);
    }
    const attempt = new AttemptBody(this);
    for (const chunk of this.#chunks) attempt.push(chunk);
    this.#current = attempt;
    this.#listen();
    this.#req.resume();
    return attempt;
  }

  /** @internal The current attempt wants more. */
  _wants(attempt: AttemptBody): void {
    if (attempt === this.#current && !this.#ended) this.#req.resume();
  }

  /** @internal An attempt's stream was destroyed or replaced. */
  _detached(attempt: AttemptBody): void {
    if (attempt !== this.#current) return;
    this.#current = undefined;
    if (!this.#ended) this.#req.pause();
  }

  #listen(): void {
    if (this.#listening) return;
    this.#listening = true;
    const req = this.#req;
    req.on("data", this.#onData);
    req.on("end", this.#onEnd);
    req.on("error", this.#onBroken);
    req.on("close", this.#onClose);
  }

  #onData = (chunk: Buffer): void => {
    if (!this.#overflowed) {
      this.#bytes += chunk.length;
      if (this.#bytes > this.#limit) {
        this.#overflowed = true;
        this.#chunks = [];
      } else {
        this.#chunks.push(chunk);
      }
    }
    const current = this.#current;
    if (current === undefined || !current.push(chunk)) this.#req.pause();
  };

  #onEnd = (): void => {
    this.#ended = true;
    this.#current?.push(null);
  };

  #onBroken = (): void => {
    if (this.#ended) return;
    this.#failed = true;
    this.#current?.destroy(CLIENT_BODY_ABORTED);
  };

  #onClose = (): void => {
    if (!this.#ended) this.#onBroken();
  };
}

/** One attempt's view of the body: the kept chunks, then the live ones. */
class AttemptBody extends Readable {
  readonly #owner: RequestBody;
  #detached = false;

  constructor(owner: RequestBody) {
    super({ highWaterMark: 64 * 1024 });
    this.#owner = owner;
    // The backend connection listens for errors while it sends; after that, a late one has nobody to tell.
    this.on("error", ignoreError);
  }

  detach(): void {
    if (this.#detached) return;
    this.#detached = true;
    this.#owner._detached(this);
    // Quietly: whoever read this stream (an earlier attempt) is done with it.
    if (!this.destroyed) this.destroy();
  }

  override _read(): void {
    this.#owner._wants(this);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#detached) {
      this.#detached = true;
      this.#owner._detached(this);
    }
    callback(error);
  }
}

function ignoreError(): void {}
