/**
 * Bearer-token check for admin writes. Without a configured token every
 * write is refused (403), so a forgotten token never leaves the API open;
 * with one, the `Authorization: Bearer …` header must match it (401
 * otherwise). Both sides are hashed to equal-length digests and compared with
 * `timingSafeEqual`, so neither the content nor the length of the token leaks
 * through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { AdminError, AdminErrorCodes } from "./admin-errors.js";

const CHALLENGE = { "www-authenticate": 'Bearer realm="switchyard-admin"' };

/** Throws the matching AdminError unless `authorization` carries `token`. */
export function requireBearer(authorization: string | undefined, token: string | undefined): void {
  if (token === undefined || token === "") {
    throw new AdminError(
      AdminErrorCodes.WRITES_DISABLED,
      "admin writes are disabled: no admin token is configured (set admin.token or SWITCHYARD_ADMIN_TOKEN)",
    );
  }
  const match = /^Bearer[ \t]+(.+?)[ \t]*$/i.exec(authorization ?? "");
  if (!match) {
    throw new AdminError(
      AdminErrorCodes.UNAUTHORIZED,
      "missing bearer token: send Authorization: Bearer TOKEN",
      {
        headers: CHALLENGE,
      },
    );
  }
  if (!sameSecret(match[1] as string, token)) {
    throw new AdminError(AdminErrorCodes.UNAUTHORIZED, "wrong bearer token", { headers: CHALLENGE });
  }
}

function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
