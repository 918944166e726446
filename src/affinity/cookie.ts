/**
 * Stateless affinity cookies. The value carries the backend and the expiry,
 * encrypted and authenticated with AES-256-GCM under a key derived from the
 * secret, so any instance holding the same secret can honour it without a
 * session store, and the client cannot read which backend (by default its
 * address) it is pinned to:
 *
 *     base64url(iv (12 bytes) + AES-256-GCM(key, backendId + "." + expiresAt) + tag (16 bytes))
 *
 * The IV is random, so every issue of a cookie differs; its tag identifies it
 * (for session counting). A malformed, tampered, foreign or expired value
 * yields undefined and is never trusted.
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";

const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_VALUE_LENGTH = 1024;

export interface AffinityCookie {
  backendId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** The authentication tag as base64url: identifies this issue of the cookie (for session counting). */
  signature: string;
}

/** The cookie key of `secret`; derive it once, it is the costly part. */
export function affinityCookieKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(hkdfSync("sha256", secret, "", "switchyard affinity cookie", 32)));
}

/** The cookie value pinning `backendId` until `expiresAt` (epoch ms), and its signature. */
export function sealAffinityCookie(
  key: KeyObject,
  backendId: string,
  expiresAt: number,
): { value: string; signature: string } {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const sealed = Buffer.concat([cipher.update(`${backendId}.${expiresAt}`, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return {
    value: Buffer.concat([iv, sealed, tag]).toString("base64url"),
    signature: tag.toString("base64url"),
  };
}

/** The cookie's content when it was sealed with `key` and has not expired at `now`; otherwise undefined. */
export function openAffinityCookie(key: KeyObject, value: string, now: number): AffinityCookie | undefined {
  if (value.length > MAX_VALUE_LENGTH) return undefined;
  const bytes = Buffer.from(value, "base64url");
  // One spelling per cookie: a value that only decodes leniently is not one we issued.
  if (bytes.length <= IV_BYTES + TAG_BYTES || bytes.toString("base64url") !== value) return undefined;
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
  decipher.setAuthTag(tag);
  let text: string;
  try {
    text = Buffer.concat([
      decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]).toString("utf8");
  } catch {
    return undefined;
  }
  const split = text.lastIndexOf(".");
  if (split <= 0) return undefined;
  const expiresAt = Number(text.slice(split + 1));
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= now) return undefined;
  return { backendId: text.slice(0, split), expiresAt, signature: tag.toString("base64url") };
}
