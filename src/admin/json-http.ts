/**
 * JSON over node:http for the admin API: read a request body with a size
 * bound and a nesting bound and parse it, write a JSON answer, write a coded error
 * (`{ error, message }` plus the `x-switchyard-error` header). Every answer
 * written here loses its secrets (redact.ts): reads are open, so no route
 * has to remember.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCodes } from "../core/errors.js";
import { jsonNestingExceededAt, MAX_NESTING_DEPTH } from "../core/nesting.js";
import { AdminError } from "./admin-errors.js";
import { redactSecrets } from "./redact.js";

/** Largest request body the admin API reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Writes `body` as JSON with `status`, secrets redacted. HEAD answers get the headers only (node drops the body). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const data = Buffer.from(JSON.stringify(redactSecrets(body ?? null)));
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(data.length),
    "cache-control": "no-store",
  });
  res.end(data);
}

/** Writes a coded error; the code also goes in the `x-switchyard-error` header. */
export function sendError(res: ServerResponse, error: AdminError): void {
  sendJson(
    res,
    error.status,
    { error: error.code, message: error.message, ...error.extra },
    { ...error.headers, "x-switchyard-error": error.code },
  );
}

/**
 * Reads the whole body, refusing more than `limit` bytes with 413 (at once
 * when content-length already says so). An empty body reads as undefined;
 * anything else must be JSON nested at most MAX_NESTING_DEPTH levels (64 KiB
 * of brackets would overflow the stack of the validation that follows).
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  const text = (await readBody(req, limit)).toString("utf8");
  if (text.trim() === "") return undefined;
  if (jsonNestingExceededAt(text) >= 0) {
    throw new AdminError(
      ErrorCodes.BAD_REQUEST,
      `request body nests lists and objects deeper than ${MAX_NESTING_DEPTH} levels`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new AdminError(ErrorCodes.BAD_REQUEST, `request body is not valid JSON: ${reason}`);
  }
}

/**
 * Collects the body up to `limit` bytes. Past the limit it rejects but keeps
 * discarding what still arrives, so the 413 answer reaches a client that is
 * still sending instead of being lost to a connection reset.
 */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (declared > limit) {
      req.resume();
      reject(tooLarge(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off("data", onData);
        req.off("end", onEnd);
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks));
    req.on("data", onData);
    req.on("end", onEnd);
    req.once("error", reject);
  });
}

function tooLarge(limit: number): AdminError {
  return new AdminError(
    ErrorCodes.PAYLOAD_TOO_LARGE,
    `request body is larger than ${limit / 1024} KiB; the admin API accepts at most ${limit} bytes`,
  );
}
