/**
 * undici hands a dispatcher either a controller-style handler (undici 7:
 * `onRequestStart`, `onResponseStart`...) or a legacy one (`onConnect`,
 * `onHeaders`...; fetch and `request` still send those). The client speaks
 * the controller style only, so a legacy handler is adapted once per
 * request here: callbacks are translated, raw headers are read from the
 * controller, and `false` from `onHeaders`/`onData` becomes `pause()`.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Duplex } from "node:stream";
import type { Dispatcher } from "undici";

type Controller = Dispatcher.DispatchController;

/** The controller-style callbacks the client calls on a caller's handler. */
export interface ControllerHandler {
  onRequestStart(controller: Controller, context: unknown): void;
  onResponseStarted(): void;
  onRequestUpgrade(
    controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void;
  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void;
  onResponseData(controller: Controller, chunk: Buffer): void;
  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void;
  onResponseError(controller: Controller, error: Error): void;
}

/** The caller's handler in the controller style, adapted when it is a legacy one. */
export function controllerHandler(handler: Dispatcher.DispatchHandler): ControllerHandler {
  return handler.onRequestStart ? new ControllerStyle(handler) : new LegacyStyle(handler);
}

/** A controller-style handler: every callback is optional, so absent ones are skipped. */
class ControllerStyle implements ControllerHandler {
  readonly #handler: Dispatcher.DispatchHandler;

  constructor(handler: Dispatcher.DispatchHandler) {
    this.#handler = handler;
  }

  onRequestStart(controller: Controller, context: unknown): void {
    this.#handler.onRequestStart?.(controller, context);
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onRequestUpgrade(
    controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.#handler.onRequestUpgrade?.(controller, statusCode, headers, socket);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    headers: IncomingHttpHeaders,
    message?: string,
  ): void {
    this.#handler.onResponseStart?.(controller, statusCode, headers, message);
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    this.#handler.onResponseData?.(controller, chunk);
  }

  onResponseEnd(controller: Controller, trailers: IncomingHttpHeaders): void {
    this.#handler.onResponseEnd?.(controller, trailers);
  }

  onResponseError(controller: Controller, error: Error): void {
    this.#handler.onResponseError?.(controller, error);
  }
}

/** A legacy handler behind the controller style. */
class LegacyStyle implements ControllerHandler {
  readonly #handler: Dispatcher.DispatchHandler;

  constructor(handler: Dispatcher.DispatchHandler) {
    this.#handler = handler;
  }

  onRequestStart(controller: Controller): void {
    this.#handler.onConnect?.((reason) => controller.abort(reason ?? abortError()));
  }

  onResponseStarted(): void {
    this.#handler.onResponseStarted?.();
  }

  onRequestUpgrade(
    controller: Controller,
    statusCode: number,
    _headers: IncomingHttpHeaders,
    socket: Duplex,
  ): void {
    this.#handler.onUpgrade?.(statusCode, rawList(controller.rawHeaders), socket);
  }

  onResponseStart(
    controller: Controller,
    statusCode: number,
    _headers: IncomingHttpHeaders,
    message?: string,
  ): void {
    const resume = () => controller.resume();
    const raw = rawList(controller.rawHeaders) as Buffer[];
    if (this.#handler.onHeaders?.(statusCode, raw, resume, message ?? "") === false) controller.pause();
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.#handler.onData?.(chunk) === false) controller.pause();
  }

  onResponseEnd(controller: Controller): void {
    this.#handler.onComplete?.(rawList(controller.rawTrailers) as string[]);
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.#handler.onError?.(error);
  }
}

/** Raw header pairs as undici's legacy callbacks take them (the client only ever holds lists). */
function rawList(raw: Controller["rawHeaders"]): Buffer[] | string[] {
  return Array.isArray(raw) ? raw : [];
}

function abortError(): Error {
  return new DOMException("The operation was aborted.", "AbortError");
}
