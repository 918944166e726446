/**
 * Stateless affinity cookies. The value names the backend and the expiry and
 * is signed, so any instance holding the same secret can honour it without a
 * session store:
 *
 *     base64url(backendId + "." + expiresAt) + "." + base64url(HMAC-SHA256(secret, payload)[0..16])
 *
 * where `payload` is the first part as sent. Verification recomputes the MAC
 * and compares it in constant time; a malformed, tampered or expired value
 * yields undefined and is never trusted.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Bytes of the HMAC-SHA256 kept in the cookie (128 bits). */
export const COOKIE_MAC_BYTES = 16;

export interface AffinityCookie {
  backendId: string;
  /** Epoch milliseconds. */
  expiresAt: number;
  /** The MAC as sent: identifies this issue of the cookie (for session counting). */
  signature: string;
}

function mac(secret: string, payload: string): Buffer {
  return createHmac("sha256", secret).update(payload).digest().subarray(0, COOKIE_MAC_BYTES);
}

/** The cookie value pinning `backendId` until `expiresAt` (epoch ms). */
export function signAffinityCookie(secret: string, backendId: string, expiresAt: number): string {
  const payload = Buffer.from(`${backendId}.${expiresAt}`, "utf8").toString("base64url");
  return `${payload}.${mac(secret, payload).toString("base64url")}`;
}

/** The cookie's content when its MAC is right and it has not expired at `now`; otherwise undefined. */
export function verifyAffinityCookie(secret: string, value: string, now: number): AffinityCookie | undefined {
  if (value.length > 1024) return undefined;
  const dot = value.indexOf(".");
  if (dot <= 0 || dot !== value.lastIndexOf(".")) return undefined;
  const payload = value.slice(0, dot);
  const signature = value.slice(dot + 1);
  const given = Buffer.from(signature, "base64url");
  if (given.length !== COOKIE_MAC_BYTES || given.toString("base64url") !== signature) return undefined;
  if (!timingSafeEqual(given, mac(secret, payload))) return undefined;
  const text = Buffer.from(payload, "base64url").toString("utf8");
  const split = text.lastIndexOf(".");
  if (split <= 0) return undefined;
  const expiresAt = Number(text.slice(split + 1));
  if (!Number.isSafeInteger(expiresAt) || expiresAt <= now) return undefined;
  return { backendId: text.slice(0, split), expiresAt, signature };
}
